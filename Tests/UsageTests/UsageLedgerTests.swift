import Foundation
import ProxyConfig
import Testing
import Usage

@Suite("Usage ledger")
struct UsageLedgerTests {
    static let noon = Date.utc(2026, 12, 7, 12, 30)

    static func ledger(_ directory: String?, clock: UsageTestClock, shard: ProxyConfig.Shard = .init(), compaction: UsageLedger.Compaction = .init())
        -> UsageLedger
    {
        UsageLedger(stateDirectory: directory, shard: shard, compaction: compaction, now: { clock.now })
    }

    static func totals(_ records: [UsageRecord]) -> UsageCounts {
        records.reduce(.zero) { $0 + $1.counts }
    }

    @Test("recorded requests are flushed to the key's file and read back by a new ledger")
    func recordFlushReread() throws {
        let dir = try UsageTestDirectory()
        defer { dir.remove() }
        let clock = UsageTestClock(Self.noon)
        let ledger = Self.ledger(dir.path, clock: clock)
        ledger.record(key: "alice", account: "a1", model: "claude-sonnet-4.5", outcome: .success, inputTokens: 100, outputTokens: 20)
        ledger.record(key: "alice", account: "a1", model: "claude-sonnet-4.5", outcome: .failure)
        ledger.record(key: "bob", account: "", model: "claude-sonnet-4.5", outcome: .throttled)
        try ledger.flush()

        #expect(try dir.lines("usage/alice.jsonl").count == 1)
        #expect(try dir.lines("usage/bob.jsonl").count == 1)
        let reread = Self.ledger(dir.path, clock: clock).records().merged()
        #expect(
            reread == [
                UsageRecord(
                    hour: Date.utc(2026, 12, 7, 12).unixSeconds, key: "alice", account: "a1", model: "claude-sonnet-4.5",
                    counts: UsageCounts(requests: 2, failures: 1, inputTokens: 100, outputTokens: 20)),
                UsageRecord(
                    hour: Date.utc(2026, 12, 7, 12).unixSeconds, key: "bob", account: "", model: "claude-sonnet-4.5",
                    counts: UsageCounts(requests: 1, throttled: 1)),
            ])
        #expect(try dir.lines("usage/alice.jsonl")[0].hasPrefix(#"{"hour":"2026-12-07T12:00:00Z","key":"alice","account":"a1""#))
    }

    @Test("queries include what is not flushed yet; a ledger without a state directory keeps flushed records in memory")
    func pendingAndMemory() throws {
        let clock = UsageTestClock(Self.noon)
        let ledger = Self.ledger(nil, clock: clock)
        ledger.record(key: "alice", account: "a1", model: "m", outcome: .success, inputTokens: 5)
        try ledger.flush()
        ledger.record(key: "alice", account: "a1", model: "m", outcome: .success, inputTokens: 7)
        #expect(Self.totals(ledger.records()) == UsageCounts(requests: 2, inputTokens: 12))
    }

    @Test("compaction merges each hour, account and model into one line and drops hours past the retention")
    func compaction() throws {
        let dir = try UsageTestDirectory()
        defer { dir.remove() }
        let clock = UsageTestClock(Date.utc(2026, 8, 1, 10))
        let ledger = Self.ledger(dir.path, clock: clock, compaction: .init(retention: 30 * 86_400))
        ledger.record(key: "alice", account: "a1", model: "m", outcome: .success, outputTokens: 1)
        try ledger.flush()  // an hour that will be past the retention
        clock.set(Self.noon)
        for _ in 0..<3 {
            ledger.record(key: "alice", account: "a1", model: "m", outcome: .success, inputTokens: 10)
            ledger.record(key: "alice", account: "a2", model: "m", outcome: .failure)
            try ledger.flush()
        }
        #expect(try dir.lines("usage/alice.jsonl").count == 7)
        try ledger.compact(key: "alice")
        let lines = try dir.lines("usage/alice.jsonl")
        #expect(lines.count == 2)
        let records = Self.ledger(dir.path, clock: clock).records()
        #expect(records.count == 2)
        #expect(records.first { $0.account == "a1" }?.counts == UsageCounts(requests: 3, inputTokens: 30))
        #expect(records.first { $0.account == "a2" }?.counts == UsageCounts(requests: 3, failures: 3))
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/usage/alice.jsonl.tmp"))
    }

    @Test("a file past the size threshold is compacted by the flush itself")
    func compactionBySize() throws {
        let dir = try UsageTestDirectory()
        defer { dir.remove() }
        let clock = UsageTestClock(Self.noon)
        let ledger = Self.ledger(dir.path, clock: clock, compaction: .init(bytes: 1024))
        for _ in 0..<20 {
            ledger.record(key: "alice", account: "a1", model: "m", outcome: .success, inputTokens: 1)
            try ledger.flush()
        }
        #expect(try dir.lines("usage/alice.jsonl").count < 20)
        #expect(Self.totals(Self.ledger(dir.path, clock: clock).records()) == UsageCounts(requests: 20, inputTokens: 20))
    }

    @Test("a torn last line is skipped, and the next flush starts on a fresh line")
    func tornLastLine() throws {
        let dir = try UsageTestDirectory()
        defer { dir.remove() }
        let clock = UsageTestClock(Self.noon)
        let ledger = Self.ledger(dir.path, clock: clock)
        ledger.record(key: "alice", account: "a1", model: "m", outcome: .success, inputTokens: 10)
        try ledger.flush()
        let path = dir.path + "/usage/alice.jsonl"
        let handle = try #require(FileHandle(forWritingAtPath: path))
        handle.seekToEndOfFile()
        handle.write(Data(#"{"hour":"2026-12-07T12:00:00Z","key":"alice","account":"a1","model":"m","requests":5"#.utf8))
        try handle.close()

        let parsed = UsageFileParser.load(usageDirectory: dir.path + "/usage")
        #expect(Self.totals(parsed.records) == UsageCounts(requests: 1, inputTokens: 10))
        #expect(parsed.warnings.count == 1)
        #expect(parsed.warnings.first?.contains("alice.jsonl:2: torn last line ignored") == true)

        ledger.record(key: "alice", account: "a1", model: "m", outcome: .success, inputTokens: 1)
        try ledger.flush()
        #expect(try dir.lines("usage/alice.jsonl").count == 3)
        #expect(Self.totals(Self.ledger(dir.path, clock: clock).records()) == UsageCounts(requests: 2, inputTokens: 11))
    }

    @Test("a corrupt line in the middle is skipped and the lines around it are read")
    func corruptMiddleLine() throws {
        let dir = try UsageTestDirectory()
        defer { dir.remove() }
        try FileManager.default.createDirectory(atPath: dir.path + "/usage", withIntermediateDirectories: true)
        let good =
            #"{"hour":"2026-12-07T12:00:00Z","key":"alice","account":"a1","model":"m","requests":1,"failures":0,"throttled":0,"input_tokens":3,"output_tokens":4}"#
        let lines = [
            good,
            #"{"hour":"2026-12-07T12:00:00Z","key":"alice","acc\#u{0}ount":"#,
            #"{"hour":"2026-12-07T12:30:00Z","key":"alice","account":"a1","model":"m","requests":1,"failures":0,"throttled":0,"input_tokens":3,"output_tokens":4}"#,
            #"{"hour":"2026-12-07T12:00:00Z","key":"alice","account":"a1","model":"m","requests":-1,"failures":0,"throttled":0,"input_tokens":3,"output_tokens":4}"#,
            #"{"hour":"2026-12-07T12:00:00Z","key":"bob","account":"a1","model":"m","requests":1,"failures":0,"throttled":0,"input_tokens":3,"output_tokens":4}"#,
            good,
        ]
        try (lines.joined(separator: "\n") + "\n").write(toFile: dir.path + "/usage/alice.jsonl", atomically: true, encoding: .utf8)
        let parsed = UsageFileParser.load(usageDirectory: dir.path + "/usage")
        #expect(Self.totals(parsed.records) == UsageCounts(requests: 2, inputTokens: 6, outputTokens: 8))
        #expect(parsed.warnings.count == 4)
        #expect(parsed.warnings.allSatisfy { !$0.contains("torn") })
        // Warnings never quote a line (the random folder name may hold "a1" itself).
        #expect(parsed.warnings.allSatisfy { !$0.replacingOccurrences(of: dir.path, with: "").contains("a1") })
    }

    @Test("a SIGKILL in the middle of a flush loses at most that flush: every cut of the file reads as whole records")
    func killDuringFlush() throws {
        let dir = try UsageTestDirectory()
        defer { dir.remove() }
        let clock = UsageTestClock(Self.noon)
        let ledger = Self.ledger(dir.path, clock: clock)
        ledger.record(key: "alice", account: "a1", model: "m", outcome: .success, inputTokens: 100, outputTokens: 10)
        ledger.record(key: "alice", account: "a2", model: "m", outcome: .success, inputTokens: 200, outputTokens: 20)
        try ledger.flush()
        let path = dir.path + "/usage/alice.jsonl"
        let flushed = try Data(contentsOf: URL(fileURLWithPath: path))
        for _ in 0..<3 { ledger.record(key: "alice", account: "a1", model: "m", outcome: .failure, inputTokens: 1, outputTokens: 1) }
        ledger.record(key: "alice", account: "a3", model: "m", outcome: .success, inputTokens: 7, outputTokens: 7)
        try ledger.flush()
        let full = try Data(contentsOf: URL(fileURLWithPath: path))
        let first = UsageCounts(requests: 2, inputTokens: 300, outputTokens: 30)
        let both = first + UsageCounts(requests: 4, failures: 3, inputTokens: 10, outputTokens: 10)
        let second = Set(UsageFileParser.parse(Array(full), key: "alice", displayName: "f").records)

        for cut in flushed.count...full.count {
            let parsed = UsageFileParser.parse(Array(full.prefix(cut)), key: "alice", displayName: "f")
            let totals = Self.totals(parsed.records)
            // The first flush is always whole; of the second, only whole lines count, each exactly as written.
            #expect(Array(parsed.records.prefix(2)) == UsageFileParser.parse(Array(flushed), key: "alice", displayName: "f").records)
            #expect(parsed.records.dropFirst(2).allSatisfy { second.contains($0) })
            #expect(totals.requests >= first.requests && totals.requests <= both.requests)
            if cut == full.count { #expect(totals == both) }
        }
    }

    @Test("repeated queries read only what was appended, and agree with a full read through appends, a torn tail and compactions")
    func cachedQueries() throws {
        let dir = try UsageTestDirectory()
        defer { dir.remove() }
        let clock = UsageTestClock(Self.noon)
        let ledger = Self.ledger(dir.path, clock: clock)
        let other = Self.ledger(dir.path, clock: clock, shard: .init(index: 1, count: 2))
        let path = dir.path + "/usage/alice.jsonl"
        func agrees(_ step: String) {
            let full = UsageFileParser.load(usageDirectory: dir.path + "/usage").records.merged()
            #expect(ledger.records().merged() == full, "\(step)")
        }
        agrees("no files")
        for round in 0..<3 {
            ledger.record(key: "alice", account: "a\(round)", model: "m", outcome: .success, inputTokens: 10)
            ledger.record(key: "bob", account: "a1", model: "m", outcome: .failure)
            try ledger.flush()
            agrees("round \(round)")
        }
        // A whole last line without its newline counts once, before and after the next flush completes it.
        let handle = try #require(FileHandle(forWritingAtPath: path))
        handle.seekToEndOfFile()
        handle.write(
            Data(
                #"{"hour":"2026-12-07T12:00:00Z","key":"alice","account":"a9","model":"m","requests":7,"failures":0,"throttled":0,"input_tokens":0,"output_tokens":0}"#
                    .utf8))
        try handle.close()
        agrees("whole line without newline")
        #expect(ledger.records().merged().first { $0.account == "a9" }?.counts.requests == 7)
        ledger.record(key: "alice", account: "a1", model: "m", outcome: .success)
        try ledger.flush()
        agrees("after the next flush")
        #expect(ledger.records().merged().first { $0.account == "a9" }?.counts.requests == 7)
        // Rewritten files (this process's compaction, another shard's) are read anew.
        try ledger.compact(key: "alice")
        agrees("after compaction")
        other.record(key: "alice", account: "a1", model: "m", outcome: .success, inputTokens: 5)
        try other.flush()
        agrees("another shard's file")
        try other.compact(key: "alice")
        agrees("another shard's compaction")
        other.record(key: "alice", account: "a1", model: "m", outcome: .success, inputTokens: 5)
        try other.flush()
        try other.compact(key: "alice")
        agrees("another shard's second compaction")
        #expect(Self.totals(ledger.records()).inputTokens == 40)
    }

    @Test("sharded instances write their own folders and readers merge every folder")
    func shardFolders() throws {
        let dir = try UsageTestDirectory()
        defer { dir.remove() }
        let clock = UsageTestClock(Self.noon)
        let zero = Self.ledger(dir.path, clock: clock, shard: .init(index: 0, count: 2))
        let one = Self.ledger(dir.path, clock: clock, shard: .init(index: 1, count: 2))
        zero.record(key: "alice", account: "a1", model: "m", outcome: .success, inputTokens: 1)
        one.record(key: "alice", account: "a2", model: "m", outcome: .success, inputTokens: 2)
        try zero.flush()
        try one.flush()
        #expect(FileManager.default.fileExists(atPath: dir.path + "/usage/shard-0/alice.jsonl"))
        #expect(FileManager.default.fileExists(atPath: dir.path + "/usage/shard-1/alice.jsonl"))
        #expect(Self.totals(zero.records()) == UsageCounts(requests: 2, inputTokens: 3))
        #expect(Self.totals(Self.ledger(dir.path, clock: clock).records()) == UsageCounts(requests: 2, inputTokens: 3))
        #expect(zero.tokensToday() == ["alice": 3])
    }

    @Test("requests fall into the hour and day that hold them, and the last bucket is the current one")
    func bucketBoundaries() throws {
        let clock = UsageTestClock(Date.utc(2026, 12, 6, 23, 59, 59))
        let ledger = Self.ledger(nil, clock: clock)
        ledger.record(key: "alice", account: "a1", model: "m", outcome: .success, inputTokens: 1)
        clock.set(Date.utc(2026, 12, 7, 0, 0, 0))
        ledger.record(key: "alice", account: "a1", model: "m", outcome: .success, inputTokens: 2)
        clock.set(Date.utc(2026, 12, 7, 0, 59, 59))
        ledger.record(key: "bob", account: "a1", model: "m", outcome: .success, inputTokens: 4)

        let day = ledger.report(range: .day, by: .key)
        #expect(day.buckets.count == 24 && day.bucketSeconds == 3600)
        #expect(day.buckets.last == Date.utc(2026, 12, 7, 0).unixSeconds)
        #expect(day.series.map(\.name) == ["alice", "bob"])
        #expect(day.series[0].counts.suffix(2).map(\.inputTokens) == [1, 2])
        #expect(day.series[1].counts.last?.inputTokens == 4)
        #expect(day.series.allSatisfy { $0.counts.count == 24 })

        let month = ledger.report(range: .month, by: .account)
        #expect(month.buckets.count == 30 && month.bucketSeconds == 86_400)
        #expect(month.buckets.last == Date.utc(2026, 12, 7).unixSeconds)
        #expect(month.series.map(\.name) == ["a1"])
        #expect(month.series[0].counts.suffix(2).map(\.inputTokens) == [1, 6])
        #expect(month.totals == UsageCounts(requests: 3, inputTokens: 7))

        let week = ledger.report(range: .week, by: .model)
        #expect(week.buckets.count == 168)
        #expect(week.buckets.first == Date.utc(2026, 11, 30, 1).unixSeconds)
    }

    @Test("tokens today count the current UTC day only, flushed or not")
    func tokensToday() throws {
        let dir = try UsageTestDirectory()
        defer { dir.remove() }
        let clock = UsageTestClock(Date.utc(2026, 12, 6, 23, 30))
        let ledger = Self.ledger(dir.path, clock: clock)
        ledger.record(key: "alice", account: "a1", model: "m", outcome: .success, inputTokens: 1000, outputTokens: 1000)
        try ledger.flush()
        clock.set(Date.utc(2026, 12, 7, 0, 10))
        ledger.record(key: "alice", account: "a1", model: "m", outcome: .success, inputTokens: 100, outputTokens: 20)
        try ledger.flush()
        ledger.record(key: "alice", account: "a1", model: "m", outcome: .success, inputTokens: 3, outputTokens: 4)
        ledger.record(key: "bob", account: "", model: "m", outcome: .throttled)
        #expect(ledger.tokensToday() == ["alice": 127, "bob": 0])
        #expect(Self.ledger(dir.path, clock: clock).tokensToday() == ["alice": 120])
    }

    @Test("the last hour per account counts requests per minute, oldest first")
    func lastHour() {
        let clock = UsageTestClock(Date.utc(2026, 12, 7, 12, 0, 30))
        let ledger = Self.ledger(nil, clock: clock)
        ledger.record(key: "alice", account: "a1", model: "m", outcome: .success)
        clock.set(Date.utc(2026, 12, 7, 12, 5, 0))
        ledger.record(key: "alice", account: "a1", model: "m", outcome: .success)
        ledger.record(key: "alice", account: "a1", model: "m", outcome: .failure)
        ledger.record(key: "alice", account: "", model: "m", outcome: .throttled)
        let hour = ledger.lastHour(account: "a1")
        #expect(hour.count == 60)
        #expect(hour[59] == 2 && hour[54] == 1 && hour.reduce(0, +) == 3)
        clock.set(Date.utc(2026, 12, 7, 13, 1, 0))
        #expect(ledger.lastHour(account: "a1").reduce(0, +) == 2)
        #expect(ledger.lastHour(account: "nobody") == [Int](repeating: 0, count: 60))
    }
}

@Suite("Usage files")
struct UsageFileTests {
    @Test("hours are written and read as UTC on-the-hour timestamps; anything else is refused")
    func hours() {
        let hour = Date.utc(2024, 2, 29, 23).unixSeconds
        #expect(UsageHour.format(hour) == "2024-02-29T23:00:00Z")
        #expect(UsageHour.format(hour + 3599) == "2024-02-29T23:00:00Z")
        #expect(UsageHour.parse("2024-02-29T23:00:00Z") == hour)
        #expect(UsageHour.parse("1970-01-01T00:00:00Z") == 0)
        for bad in ["2023-02-29T23:00:00Z", "2024-02-29T23:30:00Z", "2024-02-29T24:00:00Z", "2024-02-29 23:00:00Z", "2024-02-29T23:00:00"] {
            #expect(UsageHour.parse(bad) == nil)
        }
    }

    @Test("--since takes minutes, hours, days or weeks")
    func durations() {
        #expect(UsageDuration.seconds("7d") == Int64(7 * 86_400))
        #expect(UsageDuration.seconds("24h") == Int64(86_400))
        #expect(UsageDuration.seconds("90m") == Int64(5400))
        #expect(UsageDuration.seconds("2w") == Int64(14 * 86_400))
        for bad in ["", "7", "d", "-1d", "0h", "7x", "1.5h"] { #expect(UsageDuration.seconds(bad) == nil) }
    }
}
