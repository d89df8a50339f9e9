#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif
import Accounts
import Logging
import ProxyConfig
import ProxyModels
import Translation

/// Stored responses as JSON lines in `state_dir/responses/`, one file at a time appended to and a new one started
/// at `max_file_size`, so that old responses go by dropping (or compacting) whole files, as the account files do.
///
/// Each line is `{"id":…,"at":<unix seconds>,"record":{…}}`, or `{"id":…,"at":…,"forget":true}` for a delete.
/// Only an index (id → file, offset, length, time) is held in memory; a record is read from disk when asked for.
/// A process starts a new file, so a line torn by a crash is never appended to. Lines are not fsynced one by one:
/// a restart keeps every response, a power cut may lose the last few.
package actor FileReplyArchive: ReplyArchive {
    struct Entry {
        var file: Int
        var offset: Int64
        var length: Int
        var at: Int64
    }

    struct File {
        var bytes: Int64 = 0
    }

    let directory: String
    private var limits: ProxyConfig.Responses
    private let logger: Logger
    private let now: @Sendable () -> Int64
    private var index: [String: Entry] = [:]
    private var files: [Int: File] = [:]
    private var current: (number: Int, descriptor: Int32)?
    private var writesSinceCompaction = 0
    private var compacting = false

    package init(directory: String, limits: ProxyConfig.Responses, logger: Logger, now: @escaping @Sendable () -> Int64 = { Int64(time(nil)) }) {
        self.directory = directory
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

    package var count: Int { index.count }

    // MARK: - ReplyArchive

    package func record(_ id: String) async -> JSONValue? {
        guard let entry = index[id], !expired(entry) else { return nil }
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
        index[id] = Entry(file: file, offset: offset, length: line.count - 1, at: at)
        writesSinceCompaction += 1
        if writesSinceCompaction >= 200 { compact() }
    }

    package func forget(_ id: String) async -> Bool {
        guard let entry = index[id], !expired(entry) else { return false }
        index[id] = nil
        _ = append(Array("{\"id\":\"\(id)\",\"at\":\(now()),\"forget\":true}\n".utf8))
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
        var live: [Int: (count: Int, bytes: Int64)] = [:]
        for entry in index.values {
            live[entry.file, default: (0, 0)].count += 1
            live[entry.file, default: (0, 0)].bytes += Int64(entry.length + 1)
        }
        for number in files.keys.sorted() where number != current?.number {
            let used = live[number] ?? (0, 0)
            if used.count == 0 {
                remove(number)
            } else if used.bytes * 2 < files[number]!.bytes {
                // Mostly deleted or expired: its live lines move to the current file, then it goes.
                for (id, entry) in index where entry.file == number {
                    guard let bytes = readLine(entry), let (file, offset) = append(bytes + [UInt8(ascii: "\n")]) else { continue }
                    index[id] = Entry(file: file, offset: offset, length: entry.length, at: entry.at)
                }
                remove(number)
            }
        }
        while files.values.reduce(0, { $0 + $1.bytes }) > Int64(limits.maxSize), let oldest = files.keys.sorted().first, oldest != current?.number {
            for (id, entry) in index where entry.file == oldest { index[id] = nil }
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
            try StateFileIO.writeAll(descriptor, line, path: path(number))
            files[number]!.bytes += Int64(line.count)
            return (number, offset)
        } catch {
            logger.error("a response could not be stored", metadata: ["error": "\(error)"])
            return nil
        }
    }

    private func startFile() throws(StateStoreError) {
        if let current { close(current.descriptor) }
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
        let descriptor = open(path(entry.file), O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var bytes = [UInt8](repeating: 0, count: entry.length)
        var done = 0
        while done < entry.length {
            let count = bytes.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress! + done, entry.length - done, off_t(entry.offset) + off_t(done)) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { return nil }
            done += count
        }
        return bytes
    }

    private func path(_ number: Int) -> String { Self.path(directory, number) }

    static func path(_ directory: String, _ number: Int) -> String {
        let digits = String(number)
        return "\(directory)/responses-\(String(repeating: "0", count: max(0, 8 - digits.count)))\(digits).jsonl"
    }

    /// Ids q2api made (`resp_` and hex): nothing that could break the line format.
    static func isStorable(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.allSatisfy { $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") || ($0 >= 48 && $0 <= 57) || ($0 | 0x20 >= 97 && $0 | 0x20 <= 122) }
    }

    // MARK: - Loading

    /// Reads every file's lines into the index; later lines win, a `forget` line removes.
    static func load(_ directory: String, logger: Logger) -> (index: [String: Entry], files: [Int: File]) {
        var index: [String: Entry] = [:]
        var files: [Int: File] = [:]
        let numbers = StateFileIO.directoryEntries(directory, limit: 1_000_000).compactMap { name -> Int? in
            guard name.hasPrefix("responses-"), name.hasSuffix(".jsonl") else { return nil }
            return Int(name.dropFirst("responses-".count).dropLast(".jsonl".count))
        }
        for number in numbers.sorted() {
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
                    index[id] = forget ? nil : Entry(file: number, offset: Int64(start), length: end - start, at: at)
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
        while position < line.endIndex, line[position] >= 48, line[position] <= 57 {
            seconds = seconds * 10 + Int64(line[position] - 48)
            position += 1
        }
        if line[position...].starts(with: Array(",\"forget\":true}".utf8)) { return (id, seconds, true) }
        guard line[position...].starts(with: Array(",\"record\":".utf8)), line.last == UInt8(ascii: "}") else { return nil }
        return (id, seconds, false)
    }

    static func readWhole(_ path: String) -> [UInt8]? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress!, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { return nil }
            if count == 0 { return bytes }
            bytes += chunk[0..<count]
        }
    }
}
