import Foundation

/// Reads the config file only once it has stopped changing: two reads `settle` apart must agree, in content and
/// in the file's identity (device, inode, size and modification time, following symlinks). An editor
/// that truncates the file and writes it in pieces, a writer that pauses in the middle, a rename over the file and
/// a Kubernetes `..data` symlink swap all change one of them, so a half-written file is never handed on.
struct SettledFile: Sendable {
    /// The file's identity and content at one moment.
    struct Snapshot: Sendable, Equatable {
        var stamp: FileStamp?
        var content: Data?
    }

    enum Outcome: Sendable, Equatable {
        /// Two reads `settle` apart agreed (or the file is exactly as a settled read found it before); `nil`
        /// content means the file could not be read (both times).
        case settled(Data?)
        /// Every read differed from the one before for `attempts` rounds.
        case changing
    }

    let path: String
    /// How far apart the two reads are; zero reads once.
    let settle: Duration
    /// How many times the file is read again before giving up (a file that keeps changing is retried later).
    var attempts = 10

    /// How long a read may wait before it gives up.
    var patience: Duration { settle * attempts }

    func read() async -> Outcome {
        await readTimed().outcome
    }

    /// The outcome; when it settled, when the first of the two agreeing reads began (the content was the same
    /// from then on, so anyone who asked for a reload before that instant has been served by this read) and the
    /// snapshot the reads agreed on.
    ///
    /// - Parameter known: A snapshot an earlier read found settled. A file whose content and identity are exactly
    ///   those is settled at once: it has not been modified since it last stood still.
    func readTimed(known: Snapshot? = nil) async -> (outcome: Outcome, since: ContinuousClock.Instant, snapshot: Snapshot?) {
        var since = ContinuousClock.now
        var previous = Self.snapshot(path)
        if settle <= .zero || (previous.stamp != nil && previous == known) {
            return (.settled(previous.content), since, previous)
        }
        for _ in 0..<attempts {
            do {
                try await Task.sleep(for: settle)
            } catch {
                return (.changing, since, nil)
            }
            let now = ContinuousClock.now
            let current = Self.snapshot(path)
            if current == previous { return (.settled(current.content), since, current) }
            previous = current
            since = now
        }
        return (.changing, since, nil)
    }

    static func snapshot(_ path: String) -> Snapshot {
        let before = FileStamp(path: path)
        let content = FileManager.default.contents(atPath: path)
        // A write between the stat and the read shows up as a changed stamp on the next snapshot.
        return Snapshot(stamp: before, content: content)
    }
}
