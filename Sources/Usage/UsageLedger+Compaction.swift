import Accounts
import Foundation
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Compaction: a key's file rewritten with one line per bucket, so files hold sums rather than one delta per flush.
///
/// A compaction keeps the hours of the last ``Compaction/hourly`` (7 days) as they are, rolls the whole UTC days
/// before that up into one line per (day, account, model) dated at the day's midnight (the 30-day range of
/// `/v2/usage` is daily anyway), and drops what is older than ``Compaction/retention`` (90 days). A file therefore
/// holds at most 168 + 83 lines per account and model, however long the server runs. The rewrite is atomic:
/// temporary file, fsync, rename, fsync of the folder.
extension UsageLedger {
    /// Rewrites a key's file (in this instance's folder) with one line per bucket, older hours rolled up into days
    /// and days past the retention dropped, atomically.
    package func compact(key: String) throws(StateStoreError) {
        guard let directory else { return }
        try files.withLock { (files) throws(StateStoreError) in
            try compactLocked(key: key, directory: directory, files: &files)
        }
    }

    /// The records a compaction writes: merged per bucket, the whole days that end before `hourly` seconds before
    /// today's midnight rolled up to their midnight, nothing older than `retention` before the current hour.
    package static func compacted(_ records: [UsageRecord], now: Int64, compaction: Compaction) -> [UsageRecord] {
        let oldest = UsageHour.start(of: now) - compaction.retention
        let hourlyFrom = UsageHour.dayStart(of: now) - compaction.hourly
        return records.compactMap { record in
            guard record.hour >= oldest else { return nil }
            guard record.hour < hourlyFrom else { return record }
            var day = record
            day.hour = UsageHour.dayStart(of: record.hour)
            return day
        }.merged()
    }

    func compactLocked(key: String, directory: String, files: inout Files) throws(StateStoreError) {
        let path = path(key: key, directory: directory)
        guard StateFileIO.signature(atPath: path) != nil else { return }
        let (bytes, _) = try StateFileIO.readFile(path)
        let parsed = UsageFileParser.parse(bytes, key: key, displayName: path)
        for warning in parsed.warnings { logger.warning("\(warning)") }
        let kept = Self.compacted(parsed.records, now: Int64(now().timeIntervalSince1970.rounded(.down)), compaction: compaction)
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
}
