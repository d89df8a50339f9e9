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
struct UsageFileCache {
    private struct Entry {
        var device: UInt64
        var inode: UInt64
        /// Bytes up to the end of the last whole line read.
        var consumed: Int
        /// The last whole line read, newline included, to recognise the file.
        var lastLine: [UInt8]
        /// The records of the bytes read.
        var records: [UsageRecord]
    }

    private var entries: [String: Entry] = [:]

    /// Every record of every usage file under `usageDirectory` (every shard's folder included).
    mutating func records(usageDirectory: String, warnings: inout [String]) -> [UsageRecord] {
        var all: [UsageRecord] = []
        var seen = Set<String>()
        for (path, key) in UsageFileParser.files(usageDirectory: usageDirectory) {
            seen.insert(path)
            do {
                all += try read(path, key: key, warnings: &warnings)
            } catch {
                entries[path] = nil
                warnings.append("\(error)")
            }
        }
        entries = entries.filter { seen.contains($0.key) }
        return all
    }

    /// Forgets a file (after this process rewrote it).
    mutating func forget(_ path: String) {
        entries[path] = nil
    }

    private mutating func read(_ path: String, key: String, warnings: inout [String]) throws(StateStoreError) -> [UsageRecord] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw StateStoreError(path: path, operation: "open", code: errno) }
        defer { close(descriptor) }
        let info = try StateFileIO.info(descriptor, path: path)
        let size = Int(info.st_size)
        var entry = Entry(device: UInt64(info.st_dev), inode: UInt64(info.st_ino), consumed: 0, lastLine: [], records: [])
        if let known = entries[path], known.device == entry.device, known.inode == entry.inode, known.consumed <= size,
            try Self.read(descriptor, from: known.consumed - known.lastLine.count, count: known.lastLine.count, path: path) == known.lastLine
        {
            entry = known
        }
        guard size - entry.consumed <= StateFileIO.maximumFileSize else {
            throw StateStoreError(path: path, operation: "larger than \(StateFileIO.maximumFileSize / 1024 / 1024) MiB", code: 0)
        }
        let tail = try Self.read(descriptor, from: entry.consumed, count: size - entry.consumed, path: path)
        let end = tail.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? 0
        if end > 0 {
            let whole = UsageFileParser.parse(Array(tail[..<end]), key: key, displayName: path)
            warnings += whole.warnings
            entry.records += whole.records
            entry.consumed += end
            let lineStart = tail[..<(end - 1)].lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? 0
            entry.lastLine = Array(tail[lineStart..<end])
        }
        entries[path] = entry
        guard end < tail.count else { return entry.records }
        let rest = UsageFileParser.parse(Array(tail[end...]), key: key, displayName: path)
        warnings += rest.warnings
        return entry.records + rest.records
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
