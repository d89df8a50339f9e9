import Accounts
import Logging
import ProxyConfig
import ProxyModels
import Translation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Stored responses as JSON lines in `state_dir/responses/`, one file at a time appended to and a new one started
/// at `max_file_size`, so that old responses go by dropping (or compacting) whole files, as the account files do.
///
/// Each line is `{"id":…,"at":<unix seconds>,"record":{…}}`, or `{"id":…,"at":…,"forget":true}` for a delete.
/// Only an index (id → file, offset, length, time) is held in memory; a record is read from disk when asked for.
/// A process starts a new file, so a line torn by a crash is never appended to. Lines are not fsynced one by one:
/// a restart keeps every response, a power cut may lose the last few.
///
/// Sharded instances sharing one state directory each write a folder of their own (`responses/shard-N/`) and
/// only ever change their own files; they read the others' (and the top folder's, from before sharding) as those
/// grow, so a conversation stored by one instance continues, and a delete holds, on any of them.
package actor FileReplyArchive: ReplyArchive {
    struct Entry {
        /// The file's path; one of this process's own files, or another instance's.
        var path: String
        var offset: Int64
        var length: Int
        var at: Int64
        /// A `forget` line: the response was deleted. Kept (and carried through compaction) until it expires, so
        /// an older line of the same id, in a file read later or moved by another instance, cannot bring it back.
        var deleted = false
    }

    /// Adds a line to the index: the newest line of an id wins, and a delete wins over a record of the same second
    /// (a record moved by compaction keeps its original time).
    static func merge(_ entry: Entry, id: String, into index: inout [String: Entry]) {
        if let existing = index[id], existing.at > entry.at || existing.at == entry.at && existing.deleted && !entry.deleted { return }
        index[id] = entry
    }

    /// Another instance's file, read up to `offset` (the end of its last whole line).
    struct ForeignFile {
        var offset: Int64 = 0
    }

    struct File {
        var bytes: Int64 = 0
    }

    /// This process's folder: `root`, or `root/shard-N` for a sharded instance.
    let directory: String
    /// `state_dir/responses`.
    let root: String
    private var limits: ProxyConfig.Responses
    private let logger: Logger
    private let now: @Sendable () -> Int64
    private var index: [String: Entry] = [:]
    private var files: [Int: File] = [:]
    private var current: (number: Int, descriptor: Int32)?
    private var foreign: [String: ForeignFile] = [:]
    private var writesSinceCompaction = 0
    private var compacting = false

    /// - Parameters:
    ///   - root: `state_dir/responses`.
    ///   - shard: this instance's shard when there are several (`shard.count` > 1): it writes `root/shard-N`.
    package init(
        root: String, shard: Int? = nil, limits: ProxyConfig.Responses, logger: Logger, now: @escaping @Sendable () -> Int64 = { Int64(time(nil)) }
    ) {
        self.root = root
        self.directory = shard.map { "\(root)/shard-\($0)" } ?? root
        self.limits = limits
        self.logger = logger
        self.now = now
        let (index, files) = Self.load(directory, logger: logger)
        self.index = index
        self.files = files
    }

    deinit {
        if let current { close(current.descriptor) }
    }

    /// The limits of a reloaded config; a smaller retention or size applies at the next compaction.
    package func configure(_ limits: ProxyConfig.Responses) {
        self.limits = limits
    }

    /// How many stored responses can be read.
    package var count: Int { index.values.count { !$0.deleted } }

    // MARK: - ReplyArchive

    package func record(_ id: String) async -> JSONValue? {
        readOthers()
        guard let entry = index[id], !entry.deleted, !expired(entry) else { return nil }
        guard let bytes = readLine(entry), let line = try? JSONParser.parse(bytes) else {
            logger.warning("a stored response could not be read", metadata: ["response.id": "\(id)"])
            return nil
        }
        return line["record"]
    }

    package func keep(_ id: String, _ record: JSONValue) async {
        guard limits.store, Self.isStorable(id) else { return }
        let at = now()
        var line = Array("{\"id\":\"\(id)\",\"at\":\(at),\"record\":".utf8)
        line += record.jsonBytes
        line += Array("}\n".utf8)
        guard let (file, offset) = append(line) else { return }
        Self.merge(Entry(path: path(file), offset: offset, length: line.count - 1, at: at), id: id, into: &index)
        writesSinceCompaction += 1
        if writesSinceCompaction >= 200 { compact() }
    }

    package func forget(_ id: String) async -> Bool {
        readOthers()
        guard let entry = index[id], !entry.deleted, !expired(entry) else { return false }
        let at = max(now(), entry.at)
        let line = Array("{\"id\":\"\(id)\",\"at\":\(at),\"forget\":true}\n".utf8)
        guard let (file, offset) = append(line) else { return false }
        index[id] = Entry(path: path(file), offset: offset, length: line.count - 1, at: at, deleted: true)
        return true
    }

    // MARK: - Files

    /// Drops what has expired, files with nothing live, and compacts files that are mostly dead; then the oldest
    /// files until the total is under `max_size`.
    package func compact() {
        guard !compacting else { return }
        compacting = true
        defer { compacting = false }
        writesSinceCompaction = 0
        for (id, entry) in index where expired(entry) { index[id] = nil }
        var live: [String: (count: Int, bytes: Int64)] = [:]
        for entry in index.values {
            live[entry.path, default: (0, 0)].count += 1
            live[entry.path, default: (0, 0)].bytes += Int64(entry.length + 1)
        }
        // Only this process's own files: another instance's are its to compact.
        for number in files.keys.sorted() where number != current?.number {
            let path = path(number)
            let used = live[path] ?? (0, 0)
            if used.count == 0 {
                remove(number)
            } else if used.bytes * 2 < files[number]!.bytes {
                // Mostly deleted or expired: its live lines (deletes too) move to the current file, then it goes.
                var moved = true
                for (id, entry) in index where entry.path == path {
                    guard let bytes = readLine(entry), let (file, offset) = append(bytes + [UInt8(ascii: "\n")]) else {
                        moved = false  // keep the file rather than lose what could not be copied
                        break
                    }
                    index[id] = Entry(path: self.path(file), offset: offset, length: entry.length, at: entry.at, deleted: entry.deleted)
                }
                if moved { remove(number) }
            }
        }
        while files.values.reduce(0, { $0 + $1.bytes }) > Int64(limits.maxSize), let oldest = files.keys.sorted().first, oldest != current?.number {
            let path = path(oldest)
            for (id, entry) in index where entry.path == path { index[id] = nil }
            remove(oldest)
        }
    }

    private func expired(_ entry: Entry) -> Bool {
        entry.at + Int64(limits.retention.components.seconds) < now()
    }

    /// Appends a line to the current file, starting a new one when it is full. - Returns: where the line went.
    private func append(_ line: [UInt8]) -> (file: Int, offset: Int64)? {
        do {
            if current == nil || files[current!.number]!.bytes > 0 && files[current!.number]!.bytes + Int64(line.count) > Int64(limits.maxFileSize) {
                try startFile()
            }
            let (number, descriptor) = current!
            let offset = files[number]!.bytes
            do {
                try StateFileIO.writeAll(descriptor, line, path: path(number))
            } catch {
                // Part of the line may be in the file: never append after it. The next write starts a new file, and
                // the torn line, last in this one, is skipped when the folder is read.
                close(descriptor)
                current = nil
                throw error
            }
            files[number]!.bytes += Int64(line.count)
            return (number, offset)
        } catch {
            logger.error("a response could not be stored", metadata: ["error": "\(error)"])
            return nil
        }
    }

    private func startFile() throws(StateStoreError) {
        if let current { close(current.descriptor) }
        current = nil
        if try StateFileIO.makeDirectory(directory) { try? StateFileIO.syncDirectory(StateFileIO.parentDirectory(of: directory)) }
        let number = (files.keys.max() ?? 0) + 1
        let (descriptor, _) = try StateFileIO.openForAppend(path(number))
        current = (number, descriptor)
        files[number] = File()
        if files.count > 1 { compact() }
    }

    private func remove(_ number: Int) {
        _ = try? StateFileIO.unlinkFile(path(number))
        files[number] = nil
    }

    private func readLine(_ entry: Entry) -> [UInt8]? {
        let descriptor = open(entry.path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var bytes = [UInt8](repeating: 0, count: entry.length)
        var done = 0
        while done < entry.length {
            let count = bytes.withUnsafeMutableBytes {
                pread(descriptor, $0.baseAddress! + done, entry.length - done, off_t(entry.offset) + off_t(done))
            }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { return nil }
            done += count
        }
        return bytes
    }

    private func path(_ number: Int) -> String { Self.path(directory, number) }

    // MARK: - Other instances' files

    /// The folders other instances write: the top folder (unless it is this one's) and every `shard-N` but this one's.
    private func otherFolders() -> [String] {
        var folders = directory == root ? [] : [root]
        for name in StateFileIO.directoryEntries(root, limit: 10_000) where name.hasPrefix("shard-") {
            let folder = "\(root)/\(name)"
            if folder != directory { folders.append(folder) }
        }
        return folders
    }

    /// Reads what other instances appended since the last look (new lines, new files), and forgets the entries
    /// of files they have since removed. Cheap when nothing changed: a directory listing and a `stat` a file.
    private func readOthers() {
        var seen: Set<String> = []
        for folder in otherFolders() {
            for number in Self.fileNumbers(folder).sorted() {
                let path = Self.path(folder, number)
                seen.insert(path)
                var file = foreign[path] ?? ForeignFile()
                guard let size = StateFileIO.signature(atPath: path)?.size, size > file.offset,
                    let bytes = Self.readWhole(path, from: file.offset)
                else {
                    foreign[path] = file
                    continue
                }
                var start = 0
                while start < bytes.count, let end = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) {
                    if let (id, at, forget) = Self.header(bytes[start..<end]) {
                        Self.merge(
                            Entry(path: path, offset: file.offset + Int64(start), length: end - start, at: at, deleted: forget), id: id, into: &index)
                    }
                    start = end + 1
                }
                file.offset += Int64(start)
                foreign[path] = file
            }
        }
        for path in foreign.keys where !seen.contains(path) {
            foreign[path] = nil
            for (id, entry) in index where entry.path == path { index[id] = nil }
        }
    }

    static func path(_ directory: String, _ number: Int) -> String {
        let digits = String(number)
        return "\(directory)/responses-\(String(repeating: "0", count: max(0, 8 - digits.count)))\(digits).jsonl"
    }

    /// Ids q2api made (`resp_` and hex): nothing that could break the line format.
    static func isStorable(_ id: String) -> Bool {
        !id.isEmpty
            && id.utf8.allSatisfy {
                $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") || ($0 >= 48 && $0 <= 57) || ($0 | 0x20 >= 97 && $0 | 0x20 <= 122)
            }
    }

    // MARK: - Loading

    /// Reads every file's lines into the index; later lines win, a `forget` line removes.
    static func load(_ directory: String, logger: Logger) -> (index: [String: Entry], files: [Int: File]) {
        var index: [String: Entry] = [:]
        var files: [Int: File] = [:]
        for number in fileNumbers(directory).sorted() {
            let path = path(directory, number)
            guard let bytes = readWhole(path) else {
                logger.warning("a stored-responses file could not be read", metadata: ["file": "\(path)"])
                continue
            }
            files[number] = File(bytes: Int64(bytes.count))
            var start = 0
            while start < bytes.count {
                guard let end = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) else { break }  // a torn last line
                if let (id, at, forget) = header(bytes[start..<end]) {
                    merge(Entry(path: path, offset: Int64(start), length: end - start, at: at, deleted: forget), id: id, into: &index)
                }
                start = end + 1
            }
        }
        return (index, files)
    }

    /// The id, time and kind of a line, read from its fixed opening without parsing the record.
    static func header(_ line: ArraySlice<UInt8>) -> (id: String, at: Int64, forget: Bool)? {
        let opening = Array("{\"id\":\"".utf8)
        guard line.starts(with: opening) else { return nil }
        var position = line.startIndex + opening.count
        guard let quote = line[position...].firstIndex(of: UInt8(ascii: "\"")) else { return nil }
        let id = String(decoding: line[position..<quote], as: UTF8.self)
        position = quote + 1
        let at = Array(",\"at\":".utf8)
        guard line[position...].starts(with: at) else { return nil }
        position += at.count
        var seconds: Int64 = 0
        while position < line.endIndex, line[position] >= 48, line[position] <= 57, seconds < 1 << 50 {
            seconds = seconds * 10 + Int64(line[position] - 48)
            position += 1
        }
        if line[position...].starts(with: Array(",\"forget\":true}".utf8)) { return (id, seconds, true) }
        guard line[position...].starts(with: Array(",\"record\":".utf8)), line.last == UInt8(ascii: "}") else { return nil }
        return (id, seconds, false)
    }

    /// The numbers of the `responses-N.jsonl` files in a folder.
    static func fileNumbers(_ folder: String) -> [Int] {
        StateFileIO.directoryEntries(folder, limit: 1_000_000).compactMap { name -> Int? in
            guard name.hasPrefix("responses-"), name.hasSuffix(".jsonl") else { return nil }
            // Eight digits, as written: a longer name is not one of these files.
            guard let number = Int(name.dropFirst("responses-".count).dropLast(".jsonl".count)), number < 100_000_000 else { return nil }
            return number
        }
    }

    static func readWhole(_ path: String, from start: Int64 = 0) -> [UInt8]? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        var offset = off_t(start)
        while true {
            let count = chunk.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress!, $0.count, offset) }
            if count > 0 { offset += off_t(count) }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { return nil }
            if count == 0 { return bytes }
            bytes += chunk[0..<count]
        }
    }
}
