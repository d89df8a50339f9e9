import Foundation
import Synchronization

/// A temporary directory removed by the test.
struct UsageTestDirectory {
    let path: String

    init() throws {
        var template = Array((NSTemporaryDirectory() + "usage-tests-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw CocoaError(.fileWriteUnknown) }
        path = String(cString: made)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }

    func lines(_ relative: String) throws -> [String] {
        try String(contentsOfFile: path + "/" + relative, encoding: .utf8).split(separator: "\n").map(String.init)
    }
}

/// A clock the test moves by hand.
final class UsageTestClock: Sendable {
    private let current: Mutex<Date>

    init(_ date: Date) {
        current = Mutex(date)
    }

    var now: Date { current.withLock { $0 } }

    func set(_ date: Date) {
        current.withLock { $0 = date }
    }
}

extension Date {
    /// A UTC date from its parts.
    static func utc(_ year: Int, _ month: Int, _ day: Int, _ hour: Int = 0, _ minute: Int = 0, _ second: Int = 0) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar.date(from: DateComponents(year: year, month: month, day: day, hour: hour, minute: minute, second: second))!
    }

    var unixSeconds: Int64 { Int64(timeIntervalSince1970) }
}
