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

/// The state directory: one append-only JSON-lines file per account, `<state_dir>/<account-id>.jsonl`.
///
/// Records (see ``StateRecord``) are appended as the server runs: `token` after each refresh, `status` on enable,
/// disable and auto-disable, `stats` in batches, `account` for accounts created at run time. Files are created
/// with mode 0600 in a directory created 0700. When a file grows past the ``Compaction`` thresholds it is rewritten
/// atomically, keeping the latest record of each type.
///
/// ```swift
/// let store = AccountStateStore(directory: config.stateDirectory, logger: logger)
/// let snapshots = store.loadAll()
/// let watcher = StateDirectoryWatcher(store: store, interval: .seconds(2))   // after loadAll
/// let chain = effectiveRefreshToken(yamlToken: account.refreshToken, snapshot: snapshots[account.id])
/// // ... refresh with chain.refreshToken, then, before using the new token:
/// try store.appendToken(accountID: account.id, refreshToken: new, accessToken: access, expiresAt: expiry,
///                       source: chain.source)
/// store.recordStats(accountID: account.id, successes: 1, inputTokens: 1200, outputTokens: 300)
/// try store.flush()   // every ~10 s and at shutdown
/// ```
///
/// All file work for all accounts is serialised by one lock (appends are rare: a refresh per account per hour,
/// a status change now and then, a stats batch every few seconds). ``recordStats(accountID:successes:failures:inputTokens:outputTokens:)``,
/// the only call on the request path, takes a separate lock and never touches a file.
///
/// Another process appending to a file at the moment this one compacts it may lose its line; tools that drop
/// files in should write a whole new file (`<id>.jsonl`) rather than append to a live one.
package final class AccountStateStore: Sendable {
    /// When a file is rewritten: past either threshold after an append.
    package struct Compaction: Sendable, Equatable {
        /// Size in bytes; 256 KiB by default.
        package var bytes: Int
        /// Number of lines; 1,000 by default.
        package var lines: Int

        package init(bytes: Int = 256 * 1024, lines: Int = 1000) {
            self.bytes = bytes
            self.lines = lines
        }
    }

    /// What the store knows of a file it has written or read.
    private struct FileState {
        var device: UInt64
        var inode: UInt64
        var lineCount: Int
        /// The counters of the latest `stats` record in the file.
        var stats: StatsCounters
    }

    private struct Files {
        var directoryReady = false
        var accounts: [String: FileState] = [:]
    }

    /// The state directory, as given.
    package let directory: String
    /// The versions of the files this store wrote or read last; pass to ``StateDirectoryWatcher``.
    package let signatures: StateFileSignatures
    private let compaction: Compaction
    private let logger: Logger
    /// The clock for record timestamps.
    let now: @Sendable () -> Date
    private let files = Mutex(Files())
    private let pendingStats = Mutex([String: StatsCounters]())

    /// Creates a store over a directory; nothing is read or created until the first load or write.
    ///
    /// - Parameters:
    ///   - directory: The state directory (`config.stateDirectory`). Created with mode 0700 on the first write.
    ///   - compaction: When files are rewritten.
    ///   - logger: Receives compaction notes and per-line warnings (file and line number only).
    ///   - now: The clock for record timestamps.
    package init(
        directory: String,
        compaction: Compaction = Compaction(),
        logger: Logger = Logger(label: "q2api.state"),
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.directory = directory
        self.compaction = compaction
        self.logger = logger
        self.now = now
        self.signatures = StateFileSignatures()
    }

    /// The path of an account's state file.
    package func path(for accountID: String) -> String {
        directory + "/" + accountID + StateFileParser.fileExtension
    }

    // MARK: - Loading

    /// Reads every state file of a directory without any side effect (for `q2api accounts`).
    ///
    /// - Parameter directory: The state directory; a missing one holds no state.
    /// - Returns: A snapshot per account id; problems are in each snapshot's `warnings`, never thrown.
    package static func load(directory: String) -> [String: AccountStateSnapshot] {
        StateFileParser.load(directory: directory)
    }

    /// Reads every state file and makes the store's view of them current: stats continue from the files'
    /// counters, and the signatures read become the watcher's reference (so a change made after this call is
    /// reported, and one made before it is not reported twice).
    ///
    /// - Returns: A snapshot per account id.
    package func loadAll() -> [String: AccountStateSnapshot] {
        files.withLock { files in
            let loaded = StateFileParser.loadWithSignatures(directory: directory)
            files.accounts = [:]
            for (id, entry) in loaded {
                guard let signature = entry.signature else { continue }
                signatures.record(id + StateFileParser.fileExtension, signature)
                files.accounts[id] = FileState(
                    device: signature.device, inode: signature.inode, lineCount: entry.snapshot.lineCount,
                    stats: entry.snapshot.stats?.counters ?? .zero)
            }
            return loaded.mapValues(\.snapshot)
        }
    }

    // MARK: - Appending

    /// Appends a `token` record and makes it durable before returning.
    ///
    /// The service may rotate the refresh token on each refresh and then refuse the old one. If the new token were
    /// used before it reached the disk, a crash or power loss would leave only the old, now rejected, token on disk
    /// and the account could never refresh again (it would need a new login). So this writes the line, fsyncs the
    /// file (and the directory when the file is new, so the file's name survives too), and only then returns; the
    /// caller must not use the new token until it has returned without throwing.
    ///
    /// - Parameters:
    ///   - accountID: The account.
    ///   - refreshToken: The refresh token to use next time (the rotated one, or the same one if it did not rotate).
    ///   - accessToken: The access token the refresh returned.
    ///   - expiresAt: When the access token expires.
    ///   - source: ``EffectiveRefreshToken/source``: the fingerprint of the seed token the chain started from.
    /// - Returns: The record written.
    /// - Throws: ``StateStoreError`` when the record could not be written and synced; the token is then not safe.
    @discardableResult
    package func appendToken(
        accountID: String, refreshToken: Secret, accessToken: Secret, expiresAt: Date, source: String, kind: AccountKind? = nil,
        profileARN: String? = nil
    ) throws(StateStoreError) -> TokenRecord {
        let record = TokenRecord(
            timestamp: now(), refreshToken: refreshToken, accessToken: accessToken, expiresAt: expiresAt, source: source,
            kind: kind == .oidc ? nil : kind, profileARN: profileARN)
        try append(.token(record), accountID: accountID, durable: true)
        return record
    }

    /// Appends a `status` record (fsynced: an operator's decision must not be lost).
    ///
    /// - Parameters:
    ///   - accountID: The account.
    ///   - state: `enabled`, `disabled`, or a health state such as `suspended`.
    ///   - reason: Why, in words (no secrets).
    ///   - by: ``StatusActor/operator`` or ``StatusActor/auto``.
    @discardableResult
    package func appendStatus(
        accountID: String, state: String, reason: String? = nil, by: StatusActor, source: String? = nil
    ) throws(StateStoreError) -> StatusRecord {
        let record = StatusRecord(timestamp: now(), state: state, reason: reason, by: by, source: source)
        try append(.status(record), accountID: accountID, durable: true)
        return record
    }

    /// Appends an `account` record, defining (or redefining) an account created at run time (fsynced).
    @discardableResult
    package func appendAccount(
        accountID: String, label: String, clientID: Secret, clientSecret: Secret, refreshToken: Secret,
        profileARN: String? = nil, enabled: Bool = true, weight: Int = 1, region: String? = nil,
        endpoint: String? = nil, kind: AccountKind = .oidc
    ) throws(StateStoreError) -> AccountRecord {
        let record = AccountRecord(
            timestamp: now(), label: label, clientID: clientID, clientSecret: clientSecret, refreshToken: refreshToken,
            profileARN: profileARN, enabled: enabled, weight: weight, region: region, endpoint: endpoint, kind: kind)
        try append(.account(record), accountID: accountID, durable: true)
        return record
    }

    /// Deletes an account's state file (for an account removed at run time).
    ///
    /// - Returns: Whether a file was there.
    @discardableResult
    package func removeFile(accountID: String) throws(StateStoreError) -> Bool {
        let path = try validatedPath(accountID)
        pendingStats.withLock { _ = $0.removeValue(forKey: accountID) }
        return try files.withLock { (files) throws(StateStoreError) -> Bool in
            files.accounts[accountID] = nil
            let removed = try StateFileIO.unlinkFile(path)
            signatures.forget(accountID + StateFileParser.fileExtension)
            if removed { try StateFileIO.syncDirectory(directory) }
            return removed
        }
    }

    // MARK: - Stats

    /// Adds to an account's counters in memory; nothing is written until ``flush(durable:)``.
    ///
    /// Cheap and safe to call on every request.
    package func recordStats(
        accountID: String, successes: Int = 0, failures: Int = 0, inputTokens: Int = 0, outputTokens: Int = 0
    ) {
        let delta = StatsCounters(
            successes: successes, failures: failures, inputTokens: inputTokens, outputTokens: outputTokens)
        guard !delta.isZero else { return }
        pendingStats.withLock { $0[accountID, default: .zero] += delta }
    }

    /// An account's cumulative counters: the latest `stats` record in its file plus what is not flushed yet.
    package func stats(accountID: String) -> StatsCounters {
        let baseline = files.withLock { files -> StatsCounters in
            if let state = files.accounts[accountID] { return state.stats }
            guard ProxyConfig.Account.isValidID(accountID),
                let (bytes, _) = try? StateFileIO.readFile(path(for: accountID))
            else { return .zero }
            return StateFileParser.parse(bytes, accountID: accountID, displayName: path(for: accountID)).stats?.counters
                ?? .zero
        }
        return baseline + pendingStats.withLock { $0[accountID] ?? .zero }
    }

    /// Writes one cumulative `stats` record for each account whose counters changed since the last flush.
    ///
    /// Call it every ~10 seconds and at shutdown. Accounts that could not be written keep their unflushed counts
    /// for the next flush.
    ///
    /// - Parameter durable: Whether to fsync each file (at shutdown); periodic flushes need not: losing a few
    ///   seconds of counters in a crash is acceptable.
    /// - Throws: The first ``StateStoreError`` met; the other accounts are still flushed.
    package func flush(durable: Bool = false) throws(StateStoreError) {
        let batch = pendingStats.withLock { pending -> [String: StatsCounters] in
            defer { pending = [:] }
            return pending
        }
        var firstError: StateStoreError?
        for (accountID, delta) in batch.sorted(by: { $0.key < $1.key }) {
            do {
                try append(accountID: accountID, durable: durable) { state in
                    [.stats(StatsRecord(timestamp: now(), counters: state.stats + delta))]
                }
            } catch {
                pendingStats.withLock { $0[accountID, default: .zero] += delta }
                if firstError == nil { firstError = error }
            }
        }
        if let firstError { throw firstError }
    }

    // MARK: - Compaction

    /// Rewrites an account's file keeping only the latest record of each type, atomically: the new content goes to
    /// `<id>.jsonl.tmp` (0600), which is fsynced, renamed over the file, and the directory fsynced.
    ///
    /// Runs by itself after an append that takes the file past the ``Compaction`` thresholds.
    package func compact(accountID: String) throws(StateStoreError) {
        let path = try validatedPath(accountID)
        try files.withLock { (files) throws(StateStoreError) in
            try compactLocked(accountID: accountID, path: path, files: &files)
        }
    }

    // MARK: - Internals

    private func validatedPath(_ accountID: String) throws(StateStoreError) -> String {
        guard ProxyConfig.Account.isValidID(accountID) else {
            throw StateStoreError(path: directory, operation: "invalid account id", code: 0)
        }
        return path(for: accountID)
    }

    private func append(_ record: StateRecord, accountID: String, durable: Bool) throws(StateStoreError) {
        try append(accountID: accountID, durable: durable) { _ in [record] }
    }

    /// Appends several records to one file in a single `write` and a single fsync, so that another process
    /// (the server's state directory watcher, `q2api accounts`) reads all of them or none, never only the first:
    /// an `account` record without the `token` record that follows it would name a refresh token already rotated.
    func append(records: [StateRecord], accountID: String) throws(StateStoreError) {
        try append(accountID: accountID, durable: true) { _ in records }
    }

    /// Appends the records `makeRecords` builds from the file's current state, under the file lock, in one write.
    private func append(
        accountID: String, durable: Bool, _ makeRecords: (FileState) -> [StateRecord]
    ) throws(StateStoreError) {
        let path = try validatedPath(accountID)
        let fileName = accountID + StateFileParser.fileExtension
        try files.withLock { (files) throws(StateStoreError) in
            if !files.directoryReady {
                _ = try StateFileIO.makeDirectory(directory)
                files.directoryReady = true
            }
            let (descriptor, created) = try StateFileIO.openForAppend(path)
            defer { close(descriptor) }
            let before = try StateFileIO.info(descriptor, path: path)
            signatures.noteBeforeWrite(fileName, current: created ? nil : FileSignature(before))
            StateFileIO.restrictMode(descriptor, info: before)

            var state: FileState
            if let known = files.accounts[accountID], known.inode == UInt64(before.st_ino),
                known.device == UInt64(before.st_dev)
            {
                state = known
            } else {
                state = try seed(descriptor, accountID: accountID, path: path, info: before)
            }

            let records = makeRecords(state)
            var line: [UInt8] = []
            // A torn last line (a crash mid-append) has no newline; start on a fresh line so this record stays
            // whole, and the torn one becomes an invalid line that loading skips.
            if try StateFileIO.lastByte(descriptor, size: Int64(before.st_size), path: path).map({ $0 != UInt8(ascii: "\n") }) == true {
                line.append(UInt8(ascii: "\n"))
                state.lineCount += 1
            }
            for record in records {
                line.append(contentsOf: record.jsonLine())
                line.append(UInt8(ascii: "\n"))
            }
            try StateFileIO.writeAll(descriptor, line, path: path)
            if durable || created { try StateFileIO.sync(descriptor, path: path) }
            if created { try StateFileIO.syncDirectory(directory) }

            let after = try StateFileIO.info(descriptor, path: path)
            signatures.record(fileName, FileSignature(after))
            state.lineCount += records.count
            for case .stats(let stats) in records { state.stats = stats.counters }
            files.accounts[accountID] = state

            if Int(after.st_size) > compaction.bytes || state.lineCount > compaction.lines {
                do {
                    try compactLocked(accountID: accountID, path: path, files: &files)
                } catch {
                    // The record itself is safely written; the file stays long until the next attempt.
                    logger.warning("state file compaction failed", metadata: ["error": "\(error)"])
                }
            }
        }
    }

    /// Reads a file the store has not seen (or that was replaced) to learn its line count and counters.
    private func seed(_ descriptor: Int32, accountID: String, path: String, info: stat) throws(StateStoreError) -> FileState {
        let bytes = try StateFileIO.readAll(descriptor, path: path)
        let snapshot = StateFileParser.parse(bytes, accountID: accountID, displayName: path)
        for warning in snapshot.warnings { logger.warning("\(warning)") }
        return FileState(
            device: UInt64(info.st_dev), inode: UInt64(info.st_ino), lineCount: snapshot.lineCount,
            stats: snapshot.stats?.counters ?? .zero)
    }

    private func compactLocked(accountID: String, path: String, files: inout Files) throws(StateStoreError) {
        let fileName = accountID + StateFileParser.fileExtension
        let (bytes, signature) = try StateFileIO.readFile(path)
        signatures.noteBeforeWrite(fileName, current: signature)
        let parsed = StateFileParser.parseKeepingLines(bytes, accountID: accountID, displayName: path)
        var output: [UInt8] = []
        for line in parsed.latestLines {
            output.append(contentsOf: line)
            output.append(UInt8(ascii: "\n"))
        }
        let temporary = path + ".tmp"
        let descriptor = try StateFileIO.openForReplace(temporary)
        let written: stat
        do {
            defer { close(descriptor) }
            try StateFileIO.writeAll(descriptor, output, path: temporary)
            try StateFileIO.sync(descriptor, path: temporary)
            written = try StateFileIO.info(descriptor, path: temporary)
        } catch {
            _ = try? StateFileIO.unlinkFile(temporary)
            throw error
        }
        try StateFileIO.moveReplacing(temporary, to: path)
        try StateFileIO.syncDirectory(directory)
        // rename keeps the inode, size and mtime of the temporary file: this is the new file's signature.
        signatures.record(fileName, FileSignature(written))
        files.accounts[accountID] = FileState(
            device: UInt64(written.st_dev), inode: UInt64(written.st_ino), lineCount: parsed.latestLines.count,
            stats: parsed.snapshot.stats?.counters ?? .zero)
        logger.debug(
            "compacted state file",
            metadata: ["file": "\(path)", "lines": "\(parsed.snapshot.lineCount) -> \(parsed.latestLines.count)"])
    }
}
