import Synchronization

/// A state file added, changed or removed by another process.
package struct StateDirectoryChange: Sendable, Hashable, CustomStringConvertible {
    package enum Kind: String, Sendable, Hashable {
        case added, changed, removed
    }

    package var kind: Kind
    /// The account the file belongs to.
    package var accountID: String
    /// The file's path.
    package var path: String

    package init(kind: Kind, accountID: String, path: String) {
        self.kind = kind
        self.accountID = accountID
        self.path = path
    }

    package var description: String { "\(kind.rawValue) \(path)" }
}

/// Notices state files added, changed or removed by another process, by polling the directory.
///
/// Each poll lists the directory and `stat`s every `<id>.jsonl` file (at most ``defaultMaximumFiles``), comparing
/// device, inode, size and modification time with the last version seen. Versions this process wrote itself are
/// recorded by ``AccountStateStore`` in the shared ``StateFileSignatures``, so they are not reported. Polling (not
/// inotify) works the same on every file system, including the bind mounts and volumes containers use.
///
/// ```swift
/// let watcher = StateDirectoryWatcher(store: store, interval: .seconds(2))
/// for await change in watcher.changes() {
///     logger.info("state file \(change)")   // e.g. "added state/alice.jsonl"
///     reload()
/// }
/// ```
///
/// Create the watcher after ``AccountStateStore/loadAll()``: the files present then are its starting point and are
/// not reported; changes after it are.
package final class StateDirectoryWatcher: Sendable {
    /// At most this many directory entries are looked at per poll.
    package static let defaultMaximumFiles = 10_000

    /// The directory watched.
    package let directory: String
    /// How long to wait between polls.
    package let interval: Duration
    private let signatures: StateFileSignatures
    private let maximumFiles: Int
    /// Changes found by a poll and not handed out yet.
    private let queued = Mutex([StateDirectoryChange]())

    /// Watches a directory with its own signatures.
    ///
    /// - Parameters:
    ///   - directory: The state directory; it may not exist yet.
    ///   - interval: Time between polls.
    ///   - signatures: The store's ``AccountStateStore/signatures``, so its own writes are not reported.
    ///   - maximumFiles: The most directory entries looked at per poll.
    package init(
        directory: String, interval: Duration, signatures: StateFileSignatures = StateFileSignatures(),
        maximumFiles: Int = defaultMaximumFiles
    ) {
        self.directory = directory
        self.interval = interval
        self.signatures = signatures
        self.maximumFiles = maximumFiles
        signatures.prime(listing())
    }

    /// Watches a store's directory, ignoring the store's own writes.
    package convenience init(store: AccountStateStore, interval: Duration) {
        self.init(directory: store.directory, interval: interval, signatures: store.signatures)
    }

    /// Polls once.
    ///
    /// - Returns: What changed since the previous poll, sorted by file name.
    package func poll() -> [StateDirectoryChange] {
        signatures.diff(listing()).compactMap { entry in
            guard let id = StateFileParser.accountID(fileName: entry.fileName) else { return nil }
            return StateDirectoryChange(kind: entry.kind, accountID: id, path: directory + "/" + entry.fileName)
        }
    }

    /// The changes, one at a time, as they are found.
    ///
    /// Polling happens while the sequence is iterated: each `next()` hands out a change already found or polls
    /// every ``interval`` until there is one, so a slow consumer slows the polling instead of growing a buffer.
    /// The sequence ends when the iterating task is cancelled.
    /// Meant for one consumer: several iterators would share (and split) the changes.
    package func changes() -> AsyncStream<StateDirectoryChange> {
        AsyncStream(unfolding: { await self.nextChange() })
    }

    private func nextChange() async -> StateDirectoryChange? {
        while !Task.isCancelled {
            if let change = takeQueued() { return change }
            do {
                try await Task.sleep(for: interval)
            } catch {
                return nil
            }
            let found = poll()
            queued.withLock { $0.append(contentsOf: found) }
        }
        return nil
    }

    private func takeQueued() -> StateDirectoryChange? {
        queued.withLock { $0.isEmpty ? nil : $0.removeFirst() }
    }

    private func listing() -> [String: FileSignature] {
        var result: [String: FileSignature] = [:]
        for name in StateFileIO.directoryEntries(directory, limit: maximumFiles) {
            guard StateFileParser.accountID(fileName: name) != nil,
                let signature = StateFileIO.signature(atPath: directory + "/" + name)
            else { continue }
            result[name] = signature
        }
        return result
    }
}
