import Accounts
import Foundation
import Logging
import ProxyConfig
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Usage per API key, account and model, by UTC hour: counted in memory on every request and appended to
/// `<state_dir>/usage/<key>.jsonl` by a flush loop.
///
/// ```swift
/// let ledger = UsageLedger(stateDirectory: config.stateDirectory, shard: config.shard, logger: logger)
/// ledger.record(key: "alice", account: "main", model: "claude-sonnet-4.5", outcome: .success, inputTokens: 1200, outputTokens: 300)
/// try ledger.flush()                  // every ~10 s
/// try ledger.flush(durable: true)     // at shutdown
/// let report = ledger.report(range: .day, by: .key)
/// ```
///
/// Files hold deltas, one JSON line per (hour, key, account, model) per flush (see ``UsageRecord``), appended
/// the way the account state files are: `O_APPEND`, a line that follows a torn one starts on a fresh line, a new
/// file and its folder are fsynced, and a durable flush fsyncs every file it wrote. Readers skip a torn or corrupt
/// line and never accept it, so a crash loses at most what was not flushed yet. When a file has doubled since it
/// was last compacted (and is past ``Compaction/bytes``), it is rewritten atomically (temporary file, fsync,
/// rename, fsync of the folder) with one line per (hour, account, model), dropping the hours older than
/// ``Compaction/retention``.
///
/// With `shard.count > 1` each instance writes `<state_dir>/usage/shard-<index>/`; queries read every folder.
/// Without a state directory (tests that build a runtime by hand) flushed records stay in memory.
package final class UsageLedger: Sendable {
    /// When a file is rewritten, and what it keeps.
    package struct Compaction: Sendable, Equatable {
        /// A file is compacted once it is past this size (256 KiB by default) and twice its size after the last
        /// compaction.
        package var bytes: Int
        /// Hours older than this are dropped by a compaction: 90 days by default.
        package var retention: Int64

        package static let defaultRetention: Int64 = 90 * 86_400

        package init(bytes: Int = 256 * 1024, retention: Int64 = defaultRetention) {
            self.bytes = bytes
            self.retention = retention
        }
    }

    /// How a request ended, for its key's counts.
    package enum Outcome: Sendable {
        /// Answered with a status below 400.
        case success
        /// Answered with an error status that no key limit caused.
        case failure
        /// Refused by one of the key's limits.
        case throttled
    }

    private struct Files {
        var directoryReady = false
        /// Each file's size after its last compaction (or 0 when not compacted by this process).
        var compactedSize: [String: Int] = [:]
        /// Flushed records when there is no state directory.
        var memory: [UsageBucket: UsageCounts] = [:]
        /// The files as last read, so a query reads only what was appended since.
        var cache = UsageFileCache()
    }

    /// `<state_dir>/usage`, where readers look (every shard's folder included); `nil` without a state directory.
    package let usageDirectory: String?
    /// The folder this instance writes: `usageDirectory`, or its `shard-<i>` folder when sharded.
    package let directory: String?
    private let compaction: Compaction
    private let logger: Logger
    private let now: @Sendable () -> Date
    private let pending = Mutex([UsageBucket: UsageCounts]())
    private let files = Mutex(Files())
    private let minutes = Mutex((accounts: MinuteCounts(), keys: MinuteCounts()))

    /// Creates a ledger; nothing is read or created until the first flush or query.
    ///
    /// - Parameters:
    ///   - stateDirectory: `state_dir`; usage goes to its `usage/` folder. `nil` keeps everything in memory.
    ///   - shard: With `count > 1`, this instance writes `usage/shard-<index>/`.
    ///   - compaction: When files are rewritten and how long hours are kept.
    ///   - logger: Receives compaction notes and per-line warnings (file and line number only).
    ///   - now: The clock that decides each request's hour.
    package init(
        stateDirectory: String?, shard: ProxyConfig.Shard = ProxyConfig.Shard(), compaction: Compaction = Compaction(),
        logger: Logger = Logger(label: "q2api.usage"), now: @escaping @Sendable () -> Date = { Date() }
    ) {
        if let stateDirectory {
            let usage = Self.usageDirectory(stateDirectory: stateDirectory)
            usageDirectory = usage
            directory = shard.count > 1 ? usage + "/" + UsageFileParser.shardFolderPrefix + String(shard.index) : usage
        } else {
            usageDirectory = nil
            directory = nil
        }
        self.compaction = compaction
        self.logger = logger
        self.now = now
    }

    /// `<state_dir>/usage`.
    package static func usageDirectory(stateDirectory: String) -> String {
        stateDirectory + "/usage"
    }

    // MARK: - Recording

    /// Counts one finished request in memory; nothing is written until ``flush(durable:)``. Cheap: one lock, one
    /// dictionary update, on every request.
    ///
    /// - Parameters:
    ///   - key: The API key's name.
    ///   - account: The account that served it; `""` when none did.
    ///   - model: The model (capped as metric labels are).
    package func record(key: String, account: String, model: String, outcome: Outcome, inputTokens: Int = 0, outputTokens: Int = 0) {
        let seconds = Int64(now().timeIntervalSince1970.rounded(.down))
        let bucket = UsageBucket(hour: UsageHour.start(of: seconds), key: key, account: account, model: model)
        let counts = UsageCounts(
            requests: 1, failures: outcome == .failure ? 1 : 0, throttled: outcome == .throttled ? 1 : 0,
            inputTokens: max(0, inputTokens), outputTokens: max(0, outputTokens))
        pending.withLock { $0[bucket, default: .zero] += counts }
        let minute = seconds / 60
        minutes.withLock { minutes in
            if !account.isEmpty { minutes.accounts.add(account, minute: minute) }
            minutes.keys.add(key, minute: minute)
        }
    }

    /// An account's requests per minute over the last hour, oldest first, the current minute last (memory only).
    package func lastHour(account: String) -> [Int] {
        let minute = Int64(now().timeIntervalSince1970.rounded(.down)) / 60
        return minutes.withLock { $0.accounts.lastHour(account, minute: minute) }
    }

    /// A key's requests in the current minute (memory only).
    package func requestsThisMinute(key: String) -> Int {
        let minute = Int64(now().timeIntervalSince1970.rounded(.down)) / 60
        return minutes.withLock { $0.keys.count(key, minute: minute) }
    }

    // MARK: - Flushing

    /// Appends what was counted since the last flush, one line per (hour, account, model) to each key's file.
    ///
    /// Call it every ~10 seconds and with `durable: true` at shutdown. A key whose file could not be written keeps
    /// its counts for the next flush.
    ///
    /// - Parameter durable: Whether to fsync each file written; periodic flushes need not (a crash may lose the
    ///   last interval, as the issue allows), the shutdown flush must.
    /// - Throws: The first ``StateStoreError`` met; the other keys are still written.
    package func flush(durable: Bool = false) throws(StateStoreError) {
        try files.withLock { (files) throws(StateStoreError) in
            let batch = pending.withLock { pending -> [UsageBucket: UsageCounts] in
                defer { pending = [:] }
                return pending
            }
            guard let directory else {
                for (bucket, counts) in batch { files.memory[bucket, default: .zero] += counts }
                return
            }
            var byKey: [String: [UsageRecord]] = [:]
            for (bucket, counts) in batch where !counts.isZero {
                byKey[bucket.key, default: []].append(
                    UsageRecord(hour: bucket.hour, key: bucket.key, account: bucket.account, model: bucket.model, counts: counts))
            }
            var firstError: StateStoreError?
            for (key, records) in byKey.sorted(by: { $0.key < $1.key }) {
                guard ProxyConfig.Account.isValidID(key) else {
                    logger.warning("usage of an invalid key name dropped", metadata: ["key": "\(key.prefix(64))"])
                    continue
                }
                do throws(StateStoreError) {
                    try append(records.sorted { $0.bucket < $1.bucket }, key: key, directory: directory, durable: durable, files: &files)
                } catch {
                    pending.withLock { pending in
                        for record in records { pending[record.bucket, default: .zero] += record.counts }
                    }
                    if firstError == nil { firstError = error }
                }
            }
            if let firstError { throw firstError }
        }
    }

    /// Flushes every `interval` until cancelled, logging (not throwing) write errors.
    package func runFlushLoop(every interval: Duration) async {
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: interval)
            } catch {
                return
            }
            flushLogging(durable: false)
        }
    }

    /// ``flush(durable:)``, with a failure logged: the counts stay for the next flush.
    package func flushLogging(durable: Bool) {
        do {
            try flush(durable: durable)
        } catch {
            logger.warning("could not write usage; kept for the next flush", metadata: ["error": "\(error)"])
        }
    }

    // MARK: - Compaction

    /// Rewrites a key's file (in this instance's folder) with one line per (hour, account, model), without the
    /// hours older than the retention, atomically.
    package func compact(key: String) throws(StateStoreError) {
        guard let directory else { return }
        try files.withLock { (files) throws(StateStoreError) in
            try compactLocked(key: key, directory: directory, files: &files)
        }
    }

    // MARK: - Reading

    /// Every record: the files of every folder (all shards), what was flushed in memory, and what is not flushed
    /// yet. Not merged: several records may share a bucket.
    package func records() -> [UsageRecord] {
        files.withLock { files in
            var all: [UsageRecord]
            if let usageDirectory {
                var warnings: [String] = []
                all = files.cache.records(usageDirectory: usageDirectory, warnings: &warnings)
                for warning in warnings { logger.debug("\(warning)") }
            } else {
                all = files.memory.map {
                    UsageRecord(hour: $0.key.hour, key: $0.key.key, account: $0.key.account, model: $0.key.model, counts: $0.value)
                }
            }
            for (bucket, counts) in pending.withLock({ $0 }) {
                all.append(UsageRecord(hour: bucket.hour, key: bucket.key, account: bucket.account, model: bucket.model, counts: counts))
            }
            return all
        }
    }

    /// The usage of one of `/v2/usage`'s ranges, ending now.
    package func report(range: UsageRange, by grouping: UsageGrouping) -> UsageReport {
        UsageReport(records: records(), by: grouping, range: range, now: Int64(now().timeIntervalSince1970.rounded(.down)))
    }

    /// Input plus output tokens of each key in the current UTC day, from the files of every folder and the
    /// counts not flushed yet: the seed of the keys' `tokens_per_day` limits after a restart.
    package func tokensToday() -> [String: Int] {
        Self.tokensToday(records(), now: now())
    }

    /// Input plus output tokens of each key in the UTC day holding `now`.
    package static func tokensToday(_ records: [UsageRecord], now: Date) -> [String: Int] {
        let midnight = UsageHour.dayStart(of: Int64(now.timeIntervalSince1970.rounded(.down)))
        var tokens: [String: Int] = [:]
        for record in records where record.hour >= midnight && record.hour < midnight + UsageHour.secondsPerDay {
            tokens[record.key, default: 0] += record.counts.tokens
        }
        return tokens
    }

    // MARK: - Internals

    private func path(key: String, directory: String) -> String {
        directory + "/" + key + UsageFileParser.fileExtension
    }

    private func append(
        _ records: [UsageRecord], key: String, directory: String, durable: Bool, files: inout Files
    ) throws(StateStoreError) {
        if !files.directoryReady {
            _ = try StateFileIO.makeDirectory(directory)
            files.directoryReady = true
        }
        let path = path(key: key, directory: directory)
        let (descriptor, created) = try StateFileIO.openForAppend(path)
        defer { close(descriptor) }
        let before = try StateFileIO.info(descriptor, path: path)
        var bytes: [UInt8] = []
        // A torn last line (a crash mid-append) has no newline: start on a fresh line so these records stay whole
        // and the torn one stays an invalid line that readers skip.
        if try Self.lastByte(descriptor, size: Int64(before.st_size), path: path).map({ $0 != UInt8(ascii: "\n") }) == true {
            bytes.append(UInt8(ascii: "\n"))
        }
        for record in records {
            bytes.append(contentsOf: record.jsonLine())
            bytes.append(UInt8(ascii: "\n"))
        }
        try StateFileIO.writeAll(descriptor, bytes, path: path)
        if durable || created { try StateFileIO.sync(descriptor, path: path) }
        if created { try StateFileIO.syncDirectory(directory) }
        let size = Int(before.st_size) + bytes.count
        if size > max(compaction.bytes, 2 * (files.compactedSize[key] ?? 0)) {
            do {
                try compactLocked(key: key, directory: directory, files: &files)
            } catch {
                // The records themselves are written; the file stays long until the next attempt.
                logger.warning("usage file compaction failed", metadata: ["error": "\(error)"])
            }
        }
    }

    private func compactLocked(key: String, directory: String, files: inout Files) throws(StateStoreError) {
        let path = path(key: key, directory: directory)
        guard StateFileIO.signature(atPath: path) != nil else { return }
        let (bytes, _) = try StateFileIO.readFile(path)
        let parsed = UsageFileParser.parse(bytes, key: key, displayName: path)
        for warning in parsed.warnings { logger.warning("\(warning)") }
        let oldest = UsageHour.start(of: Int64(now().timeIntervalSince1970.rounded(.down))) - compaction.retention
        let kept = parsed.records.filter { $0.hour >= oldest }.merged()
        var output: [UInt8] = []
        for record in kept {
            output.append(contentsOf: record.jsonLine())
            output.append(UInt8(ascii: "\n"))
        }
        let temporary = path + ".tmp"
        let descriptor = try StateFileIO.openForReplace(temporary)
        do {
            defer { close(descriptor) }
            try StateFileIO.writeAll(descriptor, output, path: temporary)
            try StateFileIO.sync(descriptor, path: temporary)
        } catch {
            _ = try? StateFileIO.unlinkFile(temporary)
            throw error
        }
        try StateFileIO.moveReplacing(temporary, to: path)
        files.cache.forget(path)
        try StateFileIO.syncDirectory(directory)
        files.compactedSize[key] = output.count
        logger.debug("compacted usage file", metadata: ["file": "\(path)", "lines": "\(parsed.lineCount) -> \(kept.count)"])
    }

    /// The last byte of the file, or `nil` when it is empty.
    private static func lastByte(_ descriptor: Int32, size: Int64, path: String) throws(StateStoreError) -> UInt8? {
        guard size > 0 else { return nil }
        var byte: UInt8 = 0
        while true {
            let count = pread(descriptor, &byte, 1, off_t(size - 1))
            if count == 1 { return byte }
            if count < 0, errno == EINTR { continue }
            if count == 0 { return nil }
            throw StateStoreError(path: path, operation: "read", code: errno)
        }
    }
}
