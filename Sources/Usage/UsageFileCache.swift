import Accounts

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The usage files as last read, so that `/v2/usage` (which the console asks for every few seconds) reads only
/// what was appended since, not months of lines each time.
///
/// A file is taken as grown when it has the same device and inode, is at least as long as what was read, and its
/// last line read is still where it was; it is then read from the end of that line. Anything else (a compaction
/// renamed a new file in, even one that reuses the old inode; a file replaced by hand) is read whole. A last line
/// without its newline is counted when it is whole, as a full read counts it, but not kept: it is read again once
/// its newline is there.
///
/// Memory stays bounded: each file keeps its counts merged per (hour, key, account, model), and only the hours from
/// `oldest` on (what `/v2/usage` can show), not its lines; the lines of older days are skipped by their first bytes
/// without being parsed (``UsageFileParser/parse(_:key:displayName:from:)``).
struct UsageFileCache {
    private struct Entry {
        var device: UInt64
        var inode: UInt64
        /// Bytes up to the end of the last whole line read.
        var consumed: Int
        /// The last whole line read, newline included, to recognise the file.
        var lastLine: [UInt8]
        /// The counts of the whole lines read, per bucket, from `oldest` on.
        var counts: [UsageBucket: UsageCounts]
        /// The first hour `counts` keeps.
        var oldest: Int64
        /// `counts` as records, made again only when `counts` changed: a query costs an array copy per file.
        var records: [UsageRecord]? = nil
    }

    /// What one read of the files found besides the counts.
    struct Problems {
        /// Lines skipped (torn or corrupt), naming file and line number.
        var lines: [String] = []
        /// Files that could not be read at all (open or read errors, too large): their usage is missing.
        var files: [String] = []
    }

    private var entries: [String: Entry] = [:]

    /// The records of every usage file under `usageDirectory` (every shard's folder included) from the hour `oldest`
    /// on, merged per bucket within each file (a key's files in two shard folders may share a bucket).
    mutating func records(usageDirectory: String, oldest: Int64, problems: inout Problems) -> [UsageRecord] {
        var all: [UsageRecord] = []
        var seen = Set<String>()
        for (path, key) in UsageFileParser.files(usageDirectory: usageDirectory) {
            seen.insert(path)
            do {
                all += try read(path, key: key, oldest: oldest, problems: &problems)
            } catch {
                entries[path] = nil
                problems.files.append("\(error)")
            }
        }
        entries = entries.filter { seen.contains($0.key) }
        return all
    }

    /// Forgets a file (after this process rewrote it).
    mutating func forget(_ path: String) {
        entries[path] = nil
    }

    /// Reads what is new in a file; returns its records from `oldest` on.
    private mutating func read(_ path: String, key: String, oldest: Int64, problems: inout Problems) throws(StateStoreError) -> [UsageRecord] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw StateStoreError(path: path, operation: "open", code: errno) }
        defer { close(descriptor) }
        let info = try StateFileIO.info(descriptor, path: path)
        let size = Int(info.st_size)
        var entry = Entry(device: UInt64(info.st_dev), inode: UInt64(info.st_ino), consumed: 0, lastLine: [], counts: [:], oldest: oldest)
        if let known = entries[path], known.device == entry.device, known.inode == entry.inode, known.consumed <= size,
            try Self.read(descriptor, from: known.consumed - known.lastLine.count, count: known.lastLine.count, path: path) == known.lastLine
        {
            entry = known
        }
        if entry.oldest < oldest {
            entry.counts = entry.counts.filter { $0.key.hour >= oldest }
            entry.oldest = oldest
            entry.records = nil
        }
        guard size - entry.consumed <= StateFileIO.maximumFileSize else {
            throw StateStoreError(path: path, operation: "larger than \(StateFileIO.maximumFileSize / 1024 / 1024) MiB", code: 0)
        }
        let tail = try Self.read(descriptor, from: entry.consumed, count: size - entry.consumed, path: path)
        let end = tail.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? 0
        if end > 0 {
            let whole = UsageFileParser.parse(Array(tail[..<end]), key: key, displayName: path, from: entry.oldest)
            problems.lines += whole.warnings
            for record in whole.records where record.hour >= entry.oldest { entry.counts[record.bucket, default: .zero] += record.counts }
            if !whole.records.isEmpty { entry.records = nil }
            entry.consumed += end
            let lineStart = tail[..<(end - 1)].lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? 0
            entry.lastLine = Array(tail[lineStart..<end])
        }
        let records =
            entry.records
            ?? entry.counts.map { UsageRecord(hour: $0.key.hour, key: $0.key.key, account: $0.key.account, model: $0.key.model, counts: $0.value) }
        entry.records = records
        entries[path] = entry
        guard end < tail.count else { return records }
        let rest = UsageFileParser.parse(Array(tail[end...]), key: key, displayName: path)
        problems.lines += rest.warnings
        return records + rest.records.filter { $0.hour >= oldest }
    }

    /// `count` bytes from `offset` (fewer when the file is shorter).
    private static func read(_ descriptor: Int32, from offset: Int, count: Int, path: String) throws(StateStoreError) -> [UInt8] {
        guard count > 0 else { return [] }
        var bytes = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let read = bytes.withUnsafeMutableBytes { buffer in
                pread(descriptor, buffer.baseAddress! + filled, count - filled, off_t(offset + filled))
            }
            if read < 0 {
                if errno == EINTR { continue }
                throw StateStoreError(path: path, operation: "read", code: errno)
            }
            if read == 0 { break }
            filled += read
        }
        return Array(bytes[..<filled])
    }
}
