import Foundation

/// A fresh directory under the system temporary directory, removed by ``remove()``.
struct StateTestDirectory {
    let path: String

    init() throws {
        let base = FileManager.default.temporaryDirectory.path
        path = base + "/q2api-accounts-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// The lines of a file, without the trailing empty piece.
    func lines(_ name: String) throws -> [String] {
        let text = try String(contentsOfFile: path + "/" + name, encoding: .utf8)
        var lines = text.components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        return lines
    }

    func append(_ text: String, to name: String) throws {
        let url = URL(fileURLWithPath: path + "/" + name)
        if !FileManager.default.fileExists(atPath: url.path) {
            _ = FileManager.default.createFile(atPath: url.path, contents: nil)
        }
        let handle = try FileHandle(forWritingTo: url)
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(text.utf8))
    }

    func permissions(_ relativePath: String) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: path + "/" + relativePath)
        return (attributes[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }
}

/// A clock for record timestamps that the test moves by hand; values are exact in binary so they survive the
/// millisecond formatting.
final class StateTestClock: @unchecked Sendable {
    private let lock = NSLock()
    private var current = Date(timeIntervalSince1970: 1_750_000_000.25)

    var now: Date {
        lock.lock()
        defer { lock.unlock() }
        return current
    }

    func advance(_ seconds: Double) {
        lock.lock()
        current += seconds
        lock.unlock()
    }
}
