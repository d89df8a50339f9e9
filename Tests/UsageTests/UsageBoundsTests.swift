import Foundation
import ProxyConfig
import Testing
import Usage

/// What keeps usage bounded and the server up: counts out of range, the startup seed reading only today, the
/// query horizon, the roll-up of old hours, and a usage folder removed at run time.
@Suite("Usage bounds")
struct UsageBoundsTests {
    static let noon = Date.utc(2026, 12, 7, 12, 30)

    static func line(_ hour: String, key: String = "alice", account: String = "a1", input: String = "10", output: String = "1") -> String {
        #"{"hour":"\#(hour)","key":"\#(key)","account":"\#(account)","model":"m","requests":1,"failures":0,"throttled":0,"input_tokens":\#(input),"output_tokens":\#(output)}"#
    }

    static func write(_ lines: [String], to path: String) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: path))
    }

    @Test("a count too large to be real makes its line corrupt: the server, /v2/usage and q2api usage read the others")
    func countOutOfRange() throws {
        let dir = try UsageTestDirectory()
        defer { dir.remove() }
        try Self.write(
            [
                Self.line("2026-12-07T10:00:00Z", input: "9223372036854775807", output: "1"),
                Self.line("2026-12-07T11:00:00Z", input: "1125899906842625"),  // 2^50 + 1
                Self.line("2026-12-07T11:00:00Z", input: "1125899906842624", output: "0"),  // 2^50: the largest accepted
                Self.line("2026-12-06T11:00:00Z", input: "1125899906842624", output: "0"),  // yesterday's
                Self.line("2026-12-07T12:00:00Z"),
            ], to: dir.path + "/usage/alice.jsonl")
        // A whole last line (its newline written) is corrupt, not torn.
        try Self.write([Self.line("2026-12-07T10:00:00Z", key: "bob", input: "9223372036854775807")], to: dir.path + "/usage/bob.jsonl")
        let ledger = UsageLedger(stateDirectory: dir.path, now: { Self.noon })
        // Today's tokens add up to more than 2^50: the seed stops there, so the limiter can still add to it.
        #expect(ledger.tokensToday() == ["alice": 1 << 50])
        #expect(ledger.records().reduce(0) { $0 + $1.counts.requests } == 3)
        let parsed = UsageFileParser.load(usageDirectory: dir.path + "/usage")
        #expect(parsed.records.count == 3)
        #expect(parsed.warnings.count == 3)
        #expect(parsed.warnings.allSatisfy { $0.contains("invalid line skipped") && $0.contains("count out of range") })
        #expect(UsageSummary(records: parsed.records, by: .key, since: 0).totals.inputTokens == (1 << 51) + 10)
    }

    @Test("sums stop at the largest integer instead of trapping, and what is written stays readable")
    func saturatingSums() throws {
        let big = UsageCounts(requests: Int.max, inputTokens: Int.max - 1, outputTokens: 5)
        let sum = big + UsageCounts(requests: 1, inputTokens: 10, outputTokens: 1)
        #expect(sum == UsageCounts(requests: Int.max, inputTokens: Int.max, outputTokens: 6))
        #expect(sum.tokens == Int.max)
        let record = UsageRecord(hour: Date.utc(2026, 12, 7, 12).unixSeconds, key: "alice", account: "a1", model: "m", counts: sum)
        #expect(try UsageRecord.decode(line: record.jsonLine()).counts.inputTokens == UsageCounts.maximumCount)
        // Millions of lines at the maximum add up without a trap, and the seed stays addable for the limiter.
        let many = [UsageRecord](repeating: try UsageRecord.decode(line: record.jsonLine()), count: 10_000)
        #expect(UsageLedger.tokensToday(many, now: Self.noon)["alice"] == UsageCounts.maximumCount)
    }

    @Test("the startup seed reads today's lines only, and a hand-written line of today in another member order")
    func seedReadsToday() throws {
        let dir = try UsageTestDirectory()
        defer { dir.remove() }
        var lines: [String] = []
        for day in 1...6 { lines.append(Self.line("2026-12-0\(day)T12:00:00Z", input: "1000")) }
        lines.append(Self.line("2026-12-07T00:00:00Z", input: "100", output: "20"))
        lines.append(
            #"{"key":"alice","hour":"2026-12-07T09:00:00Z","account":"a1","model":"m","requests":1,"failures":0,"throttled":0,"input_tokens":3,"output_tokens":4}"#
        )
        lines.append(#"{"hour":"2026-12-07T10:00:00Z","key":"alice","account""#)  // a torn line of today
        lines.append(Self.line("2026-12-08T00:00:00Z", input: "5000"))  // a clock that was ahead
        try Self.write(lines, to: dir.path + "/usage/alice.jsonl")
        try Self.write([Self.line("2026-12-07T01:00:00Z", key: "bob", input: "2", output: "0")], to: dir.path + "/usage/shard-1/bob.jsonl")
        let ledger = UsageLedger(stateDirectory: dir.path, now: { Self.noon })
        #expect(ledger.tokensToday() == ["alice": 127, "bob": 2])
    }

    @Test("queries see the last 31 days; q2api usage still reads everything on file")
    func queryHorizon() throws {
        let dir = try UsageTestDirectory()
        defer { dir.remove() }
        try Self.write(
            [Self.line("2026-10-01T12:00:00Z"), Self.line("2026-11-06T00:00:00Z"), Self.line("2026-11-08T00:00:00Z")],
            to: dir.path + "/usage/alice.jsonl")
        let clock = UsageTestClock(Self.noon)
        let ledger = UsageLedger(stateDirectory: dir.path, now: { clock.now })
        #expect(ledger.records().map { UsageHour.format($0.hour) }.sorted() == ["2026-11-06T00:00:00Z", "2026-11-08T00:00:00Z"])
        #expect(ledger.report(range: .month, by: .key).totals.requests == 1)  // 30 days: from 2026-11-08
        // A day later the cache drops the day that left the horizon.
        clock.set(Self.noon.addingTimeInterval(86_400))
        #expect(ledger.records().map { UsageHour.format($0.hour) }.sorted() == ["2026-11-08T00:00:00Z"])
        #expect(UsageFileParser.load(usageDirectory: dir.path + "/usage").records.count == 3)
    }

    @Test("compaction rolls whole days older than 7 days up into one line per day, account and model")
    func rollUp() throws {
        let dir = try UsageTestDirectory()
        defer { dir.remove() }
        var lines: [String] = []
        for hour in ["2026-11-20T03:00:00Z", "2026-11-20T17:00:00Z", "2026-11-29T23:00:00Z", "2026-11-30T00:00:00Z", "2026-12-07T11:00:00Z"] {
            lines.append(Self.line(hour))
            lines.append(Self.line(hour, account: "a2", input: "5"))
        }
        try Self.write(lines, to: dir.path + "/usage/alice.jsonl")
        let ledger = UsageLedger(stateDirectory: dir.path, now: { Self.noon })
        let before = UsageFileParser.load(usageDirectory: dir.path + "/usage").records
        try ledger.compact(key: "alice")
        let after = UsageFileParser.load(usageDirectory: dir.path + "/usage").records
        let hours = Set(after.map { UsageHour.format($0.hour) })
        // Days before 2026-11-30 (today's midnight - 7 days) become their midnight; from then on hours stay.
        #expect(hours == ["2026-11-20T00:00:00Z", "2026-11-29T00:00:00Z", "2026-11-30T00:00:00Z", "2026-12-07T11:00:00Z"])
        #expect(after.count == 8)
        #expect(after.first { UsageHour.format($0.hour) == "2026-11-20T00:00:00Z" && $0.account == "a1" }?.counts.requests == 2)
        #expect(UsageSummary(records: after, by: .account, since: 0) == UsageSummary(records: before, by: .account, since: 0))
        #expect(
            UsageReport(records: after, by: .model, range: .month, now: Self.noon.unixSeconds)
                == UsageReport(records: before, by: .model, range: .month, now: Self.noon.unixSeconds))
    }

    @Test("a usage folder removed while the server runs is made again by the next flush")
    func folderRemoved() throws {
        let dir = try UsageTestDirectory()
        defer { dir.remove() }
        let ledger = UsageLedger(stateDirectory: dir.path, now: { Self.noon })
        ledger.record(key: "alice", account: "a1", model: "m", outcome: .success, inputTokens: 1)
        try ledger.flush()
        try FileManager.default.removeItem(atPath: dir.path + "/usage")
        ledger.record(key: "alice", account: "a1", model: "m", outcome: .success, inputTokens: 2)
        try ledger.flush()
        #expect(try dir.lines("usage/alice.jsonl").count == 1)
        #expect(ledger.records().first?.counts == UsageCounts(requests: 1, inputTokens: 2))
    }
}
