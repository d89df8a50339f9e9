#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// An error of the state store: which file, what failed, and the system's reason. Never holds record contents.
package struct StateStoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file or directory involved.
    package var path: String
    /// What failed, e.g. `fsync`.
    package var operation: String
    /// `errno`, or 0 when the error is not a system call's.
    package var code: Int32

    package init(path: String, operation: String, code: Int32) {
        self.path = path
        self.operation = operation
        self.code = code
    }

    package var description: String {
        code == 0 ? "\(path): \(operation)" : "\(path): \(operation): \(String(cString: strerror(code)))"
    }
}

/// What identifies one version of a file for the watcher: device, inode, size and modification time.
package struct FileSignature: Sendable, Hashable {
    package var device: UInt64
    package var inode: UInt64
    package var size: Int64
    package var modifiedSeconds: Int64
    package var modifiedNanoseconds: Int64

    init(_ info: stat) {
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
        size = Int64(info.st_size)
        #if canImport(Darwin)
            modifiedSeconds = Int64(info.st_mtimespec.tv_sec)
            modifiedNanoseconds = Int64(info.st_mtimespec.tv_nsec)
        #else
            modifiedSeconds = Int64(info.st_mtim.tv_sec)
            modifiedNanoseconds = Int64(info.st_mtim.tv_nsec)
        #endif
    }
}

/// Thin POSIX wrappers: the store needs `O_APPEND`, `fsync` on files and directories and `rename`, which
/// `FileHandle` does not all offer.
package enum StateFileIO {
    package static let maximumFileSize = 64 * 1024 * 1024

    /// Creates `path` (and missing parents) with mode 0700.
    ///
    /// - Returns: Whether the directory was created (the caller then fsyncs its parent).
    package static func makeDirectory(_ path: String) throws(StateStoreError) -> Bool {
        var info = stat()
        if stat(path, &info) == 0 {
            guard info.st_mode & S_IFMT == S_IFDIR else { throw StateStoreError(path: path, operation: "not a directory", code: 0) }
            return false
        }
        let parent = parentDirectory(of: path)
        if parent != path { _ = try makeDirectory(parent) }
        if mkdir(path, 0o700) != 0 {
            let code = errno
            if code == EEXIST { return false }
            throw StateStoreError(path: path, operation: "mkdir", code: code)
        }
        try syncDirectory(parent)
        return true
    }

    package static func parentDirectory(of path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return "." }
        if slash == trimmed.startIndex { return "/" }
        return String(trimmed[..<slash])
    }

    /// Opens for appending, creating the file with mode 0600.
    ///
    /// - Returns: The descriptor and whether this call created the file.
    package static func openForAppend(_ path: String) throws(StateStoreError) -> (descriptor: Int32, created: Bool) {
        let flags = O_RDWR | O_APPEND | O_CLOEXEC
        let created = open(path, flags | O_CREAT | O_EXCL, 0o600)
        if created >= 0 { return (created, true) }
        guard errno == EEXIST else { throw StateStoreError(path: path, operation: "open", code: errno) }
        let existing = open(path, flags)
        guard existing >= 0 else { throw StateStoreError(path: path, operation: "open", code: errno) }
        return (existing, false)
    }

    /// Creates (or truncates) a file with mode 0600 for writing.
    package static func openForReplace(_ path: String) throws(StateStoreError) -> Int32 {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw StateStoreError(path: path, operation: "open", code: errno) }
        return descriptor
    }

    package static func info(_ descriptor: Int32, path: String) throws(StateStoreError) -> stat {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw StateStoreError(path: path, operation: "fstat", code: errno) }
        return info
    }

    /// The signature of the file at `path`, or `nil` when it does not exist (or cannot be read).
    package static func signature(atPath path: String) -> FileSignature? {
        var info = stat()
        guard stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return nil }
        return FileSignature(info)
    }

    /// Narrows a file's permissions to 0600 when it is readable by anyone else.
    static func restrictMode(_ descriptor: Int32, info: stat) {
        if info.st_mode & 0o077 != 0 { _ = fchmod(descriptor, 0o600) }
    }

    /// Writes every byte, retrying short writes and `EINTR`.
    package static func writeAll(_ descriptor: Int32, _ bytes: [UInt8], path: String) throws(StateStoreError) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { buffer in
                write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
            }
            if written < 0 {
                if errno == EINTR { continue }
                throw StateStoreError(path: path, operation: "write", code: errno)
            }
            offset += written
        }
    }

    /// Reads a whole file from offset 0 (at most ``maximumFileSize`` bytes).
    static func readAll(_ descriptor: Int32, path: String) throws(StateStoreError) -> [UInt8] {
        let info = try info(descriptor, path: path)
        guard Int(info.st_size) <= maximumFileSize else {
            throw StateStoreError(path: path, operation: "larger than \(maximumFileSize / 1024 / 1024) MiB", code: 0)
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Int(info.st_size))
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        var offset: off_t = 0
        while true {
            let count = chunk.withUnsafeMutableBytes { buffer in pread(descriptor, buffer.baseAddress!, buffer.count, offset) }
            if count < 0 {
                if errno == EINTR { continue }
                throw StateStoreError(path: path, operation: "read", code: errno)
            }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
            offset += off_t(count)
            guard bytes.count <= maximumFileSize else {
                throw StateStoreError(path: path, operation: "larger than \(maximumFileSize / 1024 / 1024) MiB", code: 0)
            }
        }
        return bytes
    }

    /// Reads the file at `path`.
    package static func readFile(_ path: String) throws(StateStoreError) -> (bytes: [UInt8], signature: FileSignature) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw StateStoreError(path: path, operation: "open", code: errno) }
        defer { close(descriptor) }
        let bytes = try readAll(descriptor, path: path)
        // The signature after reading: a write that raced the read makes it differ from the next poll's, so the
        // watcher reports it.
        let signature = FileSignature(try info(descriptor, path: path))
        return (bytes, signature)
    }

    /// The last byte of the file, or `nil` when it is empty.
    static func lastByte(_ descriptor: Int32, size: Int64, path: String) throws(StateStoreError) -> UInt8? {
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

    package static func sync(_ descriptor: Int32, path: String) throws(StateStoreError) {
        while fsync(descriptor) != 0 {
            if errno == EINTR { continue }
            throw StateStoreError(path: path, operation: "fsync", code: errno)
        }
    }

    /// Fsyncs a directory, so that a file created or renamed in it survives a crash.
    package static func syncDirectory(_ path: String) throws(StateStoreError) {
        let descriptor = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw StateStoreError(path: path, operation: "open directory", code: errno) }
        defer { close(descriptor) }
        try sync(descriptor, path: path)
    }

    /// Renames `from` over `to` (atomically replacing it).
    package static func moveReplacing(_ from: String, to: String) throws(StateStoreError) {
        guard rename(from, to) == 0 else { throw StateStoreError(path: to, operation: "rename", code: errno) }
    }

    /// Deletes a file; `false` when it did not exist.
    package static func unlinkFile(_ path: String) throws(StateStoreError) -> Bool {
        if unlink(path) == 0 { return true }
        if errno == ENOENT { return false }
        throw StateStoreError(path: path, operation: "unlink", code: errno)
    }

    /// The names in a directory (without `.` and `..`), at most `limit` of them; empty when it does not exist.
    package static func directoryEntries(_ path: String, limit: Int) -> [String] {
        guard let directory = opendir(path) else { return [] }
        defer { closedir(directory) }
        var names: [String] = []
        while names.count < limit, let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != ".", name != ".." { names.append(name) }
        }
        return names
    }
}
