import Synchronization

/// The last known version of each state file, shared by ``AccountStateStore`` and ``StateDirectoryWatcher`` so
/// that the watcher reports other processes' changes and not this process's own writes.
///
/// The store records the signature of each file right after it writes it (and after it reads it in
/// ``AccountStateStore/loadAll()``); the watcher reports a file whose signature differs from the known one and then
/// records it. Before each write the store also checks the file against the known signature: a change that another
/// process made since the last poll would otherwise be hidden by our own write, so it is kept for the next poll.
package final class StateFileSignatures: Sendable {
    private struct State {
        var known: [String: FileSignature] = [:]
        /// Changes by other processes noticed by the store just before its own write.
        var noticed: [String: StateDirectoryChange.Kind] = [:]
    }

    private let state = Mutex(State())

    package init() {}

    /// The signature recorded for a file name, if any.
    package func signature(of fileName: String) -> FileSignature? {
        state.withLock { $0.known[fileName] }
    }

    /// Records the version of a file this process just wrote or read.
    func record(_ fileName: String, _ signature: FileSignature) {
        state.withLock { $0.known[fileName] = signature }
    }

    /// Forgets a file this process removed itself.
    func forget(_ fileName: String) {
        state.withLock { state in
            state.known[fileName] = nil
            state.noticed[fileName] = nil
        }
    }

    /// Called before this process writes a file: notices a change by another process since the file was last seen.
    ///
    /// - Parameters:
    ///   - fileName: The state file's name.
    ///   - current: Its signature now, or `nil` when it does not exist yet.
    func noteBeforeWrite(_ fileName: String, current: FileSignature?) {
        state.withLock { state in
            let known = state.known[fileName]
            switch (known, current) {
            case (nil, nil): break
            case (nil, .some): state.noticed[fileName] = state.noticed[fileName] ?? .added
            case (.some, nil): state.noticed[fileName] = .changed  // removed by someone, about to be re-created
            case (.some(let known), .some(let current)):
                if known != current { state.noticed[fileName] = state.noticed[fileName] ?? .changed }
            }
        }
    }

    /// Records every listed file not known yet, without reporting it (the watcher's starting point).
    func prime(_ listing: [String: FileSignature]) {
        state.withLock { state in
            for (name, signature) in listing where state.known[name] == nil {
                state.known[name] = signature
            }
        }
    }

    /// Compares a directory listing with the known signatures, records the listing, and returns what changed.
    ///
    /// - Parameter listing: Every state file in the directory now, by file name.
    /// - Returns: The changes, sorted by file name.
    func diff(_ listing: [String: FileSignature]) -> [(fileName: String, kind: StateDirectoryChange.Kind)] {
        state.withLock { state in
            var changes: [(fileName: String, kind: StateDirectoryChange.Kind)] = []
            for (name, signature) in listing {
                let noticed = state.noticed.removeValue(forKey: name)
                let known = state.known[name]
                state.known[name] = signature
                if let noticed {
                    changes.append((name, noticed))
                } else if known == nil {
                    changes.append((name, .added))
                } else if known != signature {
                    changes.append((name, .changed))
                }
            }
            for name in state.known.keys where listing[name] == nil {
                state.known[name] = nil
                changes.append((name, .removed))
            }
            for name in state.noticed.keys where listing[name] == nil {
                state.noticed[name] = nil
            }
            return changes.sorted { $0.fileName < $1.fileName }
        }
    }
}
