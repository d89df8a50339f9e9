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
/// was last compacted (and is past ``Compaction/bytes``), it is rewritten atomically (see `UsageLedger+Compaction`).
///
/// Queries (``records()``) answer the last ``queryHorizon`` from a cache of merged counts that reads only what was
/// appended since the last query; the startup seed (``tokensToday()``) reads only today's lines and leaves the
/// cache alone, so the listeners bind without parsing months of files. The flush loop fills the cache first.
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
        /// Whole UTC days older than this are rolled up by a compaction into one line per (day, account, model),
        /// dated at the day's midnight: 7 days by default, so a file holds at most 168 hours and 83 days per
        /// account and model and stays far below the 64 MiB a file may have.
        package var hourly: Int64

        /// The size past which a file is compacted: past ``bytes`` and twice its compacted size, but before half
        /// the 64 MiB a reader accepts, so a large file is still rewritten while it can be read.
        package func threshold(compactedSize: Int) -> Int {
            max(bytes, min(2 * compactedSize, StateFileIO.maximumFileSize / 2))
        }

        package static let defaultRetention: Int64 = 90 * 86_400
        package static let defaultHourly: Int64 = 7 * 86_400

        package init(bytes: Int = 256 * 1024, retention: Int64 = defaultRetention, hourly: Int64 = defaultHourly) {
            self.bytes = bytes
            self.retention = retention
            self.hourly = hourly
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

    struct Files {
        var directoryReady = false
        /// Each file's size after its last compaction (or 0 when not compacted by this process).
        var compactedSize: [String: Int] = [:]
        /// Flushed records when there is no state directory.
        var memory: [UsageBucket: UsageCounts] = [:]
        /// The files as last read, so a query reads only what was appended since.
        var cache = UsageFileCache()
        /// The unreadable files already logged as warnings, so a query every few seconds does not repeat them.
        var reportedProblems = Set<String>()
    }

    /// How far back queries see: 31 days, more than `/v2/usage`'s longest range (30 daily buckets). The cache keeps
    /// nothing older.
    package static let queryHorizon: Int64 = 31 * 86_400

    /// `<state_dir>/usage`, where readers look (every shard's folder included); `nil` without a state directory.
    package let usageDirectory: String?
    /// The folder this instance writes: `usageDirectory`, or its `shard-<i>` folder when sharded.
    package let directory: String?
    let compaction: Compaction
    let logger: Logger
    let now: @Sendable () -> Date
    private let pending = Mutex([UsageBucket: UsageCounts]())
    let files = Mutex(Files())
    /// Each account's requests per minute of the last hour. A key's requests of the last minute are the
    /// limiter's (`KeyLimiter.current`), which counts every named key.
    private let minutes = Mutex(MinuteCounts())

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
            inputTokens: min(max(0, inputTokens), UsageCounts.maximumCount), outputTokens: min(max(0, outputTokens), UsageCounts.maximumCount))
        pending.withLock { $0[bucket, default: .zero] += counts }
        if !account.isEmpty { minutes.withLock { $0.add(account, minute: seconds / 60) } }
    }

    /// An account's requests per minute over the last hour, oldest first, the current minute last (memory only).
    package func lastHour(account: String) -> [Int] {
        let minute = Int64(now().timeIntervalSince1970.rounded(.down)) / 60
        return minutes.withLock { $0.lastHour(account, minute: minute) }
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

    /// Flushes every `interval` until cancelled, logging (not throwing) write errors. It first reads the files
    /// into the query cache, off the startup path, so the first `/v2/usage` is as quick as the next ones.
    package func runFlushLoop(every interval: Duration) async {
        _ = records()
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

    // MARK: - Reading

    /// The records of the last ``queryHorizon`` (from the UTC day that many seconds before today's): the files of
    /// every folder (all shards), each merged per (hour, key, account, model), what was flushed in memory, and what
    /// is not flushed yet. Several records may share a bucket (two shards' files, a file and the unflushed counts).
    ///
    /// Skipped lines are logged at debug (a torn last line is normal after a crash); a file that cannot be read at
    /// all (an I/O error, more than 64 MiB) at warning, once per problem, since its usage is missing.
    package func records() -> [UsageRecord] {
        let oldest = UsageHour.dayStart(of: Int64(now().timeIntervalSince1970.rounded(.down))) - Self.queryHorizon
        return files.withLock { files in
            var all: [UsageRecord]
            if let usageDirectory {
                var problems = UsageFileCache.Problems()
                all = files.cache.records(usageDirectory: usageDirectory, oldest: oldest, problems: &problems)
                for warning in problems.lines { logger.debug("\(warning)") }
                report(fileProblems: problems.files, files: &files)
            } else {
                all = files.memory.filter { $0.key.hour >= oldest }.map {
                    UsageRecord(hour: $0.key.hour, key: $0.key.key, account: $0.key.account, model: $0.key.model, counts: $0.value)
                }
            }
            for (bucket, counts) in pending.withLock({ $0 }) where bucket.hour >= oldest {
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
    ///
    /// Reads only today's lines of the files (``UsageFileParser/tokens(usageDirectory:day:problems:)``), not the
    /// query cache, so it is quick enough to run before the listeners bind.
    package func tokensToday() -> [String: Int] {
        let midnight = UsageHour.dayStart(of: Int64(now().timeIntervalSince1970.rounded(.down)))
        return files.withLock { files in
            var records: [UsageRecord]
            var tokens: [String: Int] = [:]
            if let usageDirectory {
                var problems: [String] = []
                tokens = UsageFileParser.tokens(usageDirectory: usageDirectory, day: midnight, problems: &problems)
                report(fileProblems: problems, files: &files)
                records = []
            } else {
                records = files.memory.map {
                    UsageRecord(hour: $0.key.hour, key: $0.key.key, account: $0.key.account, model: $0.key.model, counts: $0.value)
                }
            }
            for (bucket, counts) in pending.withLock({ $0 }) {
                records.append(UsageRecord(hour: bucket.hour, key: bucket.key, account: bucket.account, model: bucket.model, counts: counts))
            }
            for (key, count) in Self.tokensToday(records, now: now()) {
                tokens[key] = min(UsageCounts.maximumCount, UsageCounts.add(tokens[key] ?? 0, count))
            }
            return tokens
        }
    }

    /// Input plus output tokens of each key in the UTC day holding `now`, each at most
    /// ``UsageCounts/maximumCount`` (so a limiter adding to it cannot overflow).
    package static func tokensToday(_ records: [UsageRecord], now: Date) -> [String: Int] {
        let midnight = UsageHour.dayStart(of: Int64(now.timeIntervalSince1970.rounded(.down)))
        var tokens: [String: Int] = [:]
        for record in records where record.hour >= midnight && record.hour < midnight + UsageHour.secondsPerDay {
            tokens[record.key] = min(UsageCounts.maximumCount, UsageCounts.add(tokens[record.key] ?? 0, record.counts.tokens))
        }
        return tokens
    }

    /// Logs files that could not be read at warning, each problem once.
    private func report(fileProblems: [String], files: inout Files) {
        for problem in fileProblems where files.reportedProblems.insert(problem).inserted {
            logger.warning("usage file not read; its usage is missing from queries and limits", metadata: ["error": "\(problem)"])
        }
    }

    // MARK: - Internals

    func path(key: String, directory: String) -> String {
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
        let descriptor: Int32
        let created: Bool
        do {
            (descriptor, created) = try StateFileIO.openForAppend(path)
        } catch {
            // The folder may have been removed while the server runs: make it again and try once more.
            files.directoryReady = false
            _ = try StateFileIO.makeDirectory(directory)
            files.directoryReady = true
            (descriptor, created) = try StateFileIO.openForAppend(path)
        }
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
        if size > compaction.threshold(compactedSize: files.compactedSize[key] ?? 0) {
            do {
                try compactLocked(key: key, directory: directory, files: &files)
            } catch {
                // The records themselves are written; the file stays long until the next attempt.
                logger.warning("usage file compaction failed", metadata: ["error": "\(error)"])
            }
        }
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
