import Accounts
import Foundation
import ProxyConfig
import Testing

@Suite("State store")
struct StateStoreTests {
    static func store(_ directory: String, clock: StateTestClock = StateTestClock(), compaction: AccountStateStore.Compaction = .init())
        -> AccountStateStore
    {
        AccountStateStore(directory: directory, compaction: compaction, now: { clock.now })
    }

    @Test("each record type is appended and loaded back as the latest of its type")
    func roundTrip() throws {
        let dir = try StateTestDirectory()
        defer { dir.remove() }
        let clock = StateTestClock()
        let store = Self.store(dir.path, clock: clock)
        let expiry = Date(timeIntervalSince1970: 1_750_003_600.5)

        try store.appendAccount(
            accountID: "alice", label: "Alice", clientID: Secret("cid"), clientSecret: Secret("csec"),
            refreshToken: Secret("seed"), profileARN: "arn:x", weight: 2, region: "us-east-1")
        try store.appendToken(
            accountID: "alice", refreshToken: Secret("rt-1"), accessToken: Secret("at-1"), expiresAt: expiry, source: "s1")
        clock.advance(1)
        let token = try store.appendToken(
            accountID: "alice", refreshToken: Secret("rt-2"), accessToken: Secret("at-2"), expiresAt: expiry, source: "s1")
        try store.appendStatus(accountID: "alice", state: "disabled", reason: "too many failures", by: .auto)
        let status = try store.appendStatus(accountID: "alice", state: "enabled", by: .operator)
        store.recordStats(accountID: "alice", successes: 2, failures: 1, inputTokens: 100, outputTokens: 20)
        try store.flush()
        try store.appendStatus(accountID: "bob", state: "disabled", by: .operator)

        let loaded = AccountStateStore.load(directory: dir.path)
        #expect(Set(loaded.keys) == ["alice", "bob"])
        let alice = try #require(loaded["alice"])
        #expect(alice.warnings.isEmpty)
        #expect(alice.token == token)
        #expect(alice.token?.refreshToken == Secret("rt-2"))
        #expect(alice.status == status)
        #expect(alice.stats?.counters == StatsCounters(successes: 2, failures: 1, inputTokens: 100, outputTokens: 20))
        #expect(alice.account?.label == "Alice")
        #expect(alice.account?.refreshToken == Secret("seed"))
        #expect(alice.account?.weight == 2)
        #expect(alice.account?.region == "us-east-1")
        #expect(alice.lineCount == 6)
        #expect(loaded["bob"]?.status?.state == "disabled")
        #expect(loaded["bob"]?.token == nil)
        // Every line is one JSON object a `jq` can read.
        for line in try dir.lines("alice.jsonl") {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object?["ts"] is String)
            #expect(object?["type"] is String)
        }
    }

    @Test("files are created 0600 in a directory created 0700")
    func modes() throws {
        let dir = try StateTestDirectory()
        defer { dir.remove() }
        let store = Self.store(dir.path + "/nested/state")
        try store.appendStatus(accountID: "main", state: "disabled", by: .operator)
        #expect(try dir.permissions("nested/state/main.jsonl") == 0o600)
        #expect(try dir.permissions("nested/state") == 0o700)
        // An existing file readable by others is narrowed on the next write.
        _ = FileManager.default.createFile(atPath: dir.path + "/nested/state/other.jsonl", contents: nil, attributes: [.posixPermissions: 0o644])
        try store.appendStatus(accountID: "other", state: "disabled", by: .operator)
        #expect(try dir.permissions("nested/state/other.jsonl") == 0o600)
    }

    @Test("a torn last line is ignored with a warning, and the previous token is returned")
    func tornLastLine() throws {
        let dir = try StateTestDirectory()
        defer { dir.remove() }
        let store = Self.store(dir.path)
        let expiry = Date(timeIntervalSince1970: 1_750_003_600)
        try store.appendToken(accountID: "main", refreshToken: Secret("rt-1"), accessToken: Secret("at-1"), expiresAt: expiry, source: "s")
        try store.appendToken(accountID: "main", refreshToken: Secret("rt-2"), accessToken: Secret("at-2"), expiresAt: expiry, source: "s")
        // A crash in the middle of the third append.
        try dir.append(#"{"ts":"2025-06-15T15:06:41.000Z","type":"token","refresh_token":"rt-SECR"#, to: "main.jsonl")

        var snapshot = try #require(AccountStateStore.load(directory: dir.path)["main"])
        #expect(snapshot.token?.refreshToken == Secret("rt-2"))
        #expect(snapshot.warnings.count == 1)
        let warning = try #require(snapshot.warnings.first)
        #expect(warning.contains("main.jsonl:3:"))
        #expect(warning.contains("torn last line"))
        #expect(!warning.contains("SECR"))

        // The next append starts on a new line: its record is whole, the torn line is now a skipped middle line.
        let restarted = Self.store(dir.path)
        try restarted.appendToken(accountID: "main", refreshToken: Secret("rt-3"), accessToken: Secret("at-3"), expiresAt: expiry, source: "s")
        snapshot = try #require(AccountStateStore.load(directory: dir.path)["main"])
        #expect(snapshot.token?.refreshToken == Secret("rt-3"))
        #expect(snapshot.warnings.count == 1)
        #expect(snapshot.warnings.first?.contains("main.jsonl:3: invalid line skipped") == true)
        #expect(try dir.lines("main.jsonl").count == 4)
    }

    @Test("an invalid line in the middle is skipped with a warning; unknown types are skipped silently")
    func invalidMiddleLine() throws {
        let dir = try StateTestDirectory()
        defer { dir.remove() }
        try dir.append(
            """
            {"ts":"2025-06-15T15:00:00.000Z","type":"status","state":"disabled","by":"operator"}
            not json at all
            {"ts":"2025-06-15T15:00:01.000Z","type":"from_the_future","x":1}

            {"ts":"2025-06-15T15:00:02.000Z","type":"status","state":"enabled","by":"operator"}
            {"ts":"2025-06-15T15:00:03.000Z","type":"status"}
            {"ts":"2025-06-15T15:00:04.000Z","type":"stats","successes":5}

            """, to: "main.jsonl")
        try dir.append("{}", to: "not-an-account!.jsonl")
        try dir.append("{}", to: "main.jsonl.tmp")
        let loaded = AccountStateStore.load(directory: dir.path)
        #expect(Array(loaded.keys) == ["main"])
        let snapshot = try #require(loaded["main"])
        #expect(snapshot.status?.state == "enabled")
        #expect(snapshot.stats?.counters.successes == 5)
        #expect(snapshot.warnings.count == 2)
        #expect(snapshot.warnings[0].hasSuffix("main.jsonl:2: invalid line skipped (not a JSON object with string \"ts\" and \"type\")"))
        #expect(snapshot.warnings[1].hasSuffix("main.jsonl:6: invalid line skipped (status record without \"state\")"))
    }

    @Test("a missing directory holds no state")
    func missingDirectory() throws {
        let dir = try StateTestDirectory()
        defer { dir.remove() }
        #expect(AccountStateStore.load(directory: dir.path + "/absent").isEmpty)
        #expect(Self.store(dir.path + "/absent").loadAll().isEmpty)
    }

    @Test("an account id that is not a safe file name is refused")
    func invalidID() throws {
        let dir = try StateTestDirectory()
        defer { dir.remove() }
        let store = Self.store(dir.path + "/state")
        #expect(throws: StateStoreError.self) {
            try store.appendStatus(accountID: "../escape", state: "disabled", by: .operator)
        }
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/escape.jsonl"))
    }

    @Test("compaction keeps the latest record of each type and the file stays valid")
    func compaction() throws {
        let dir = try StateTestDirectory()
        defer { dir.remove() }
        let clock = StateTestClock()
        let store = Self.store(dir.path, clock: clock, compaction: .init(bytes: 1 << 30, lines: 10))
        try dir.append(#"{"ts":"2025-06-15T15:00:00.000Z","type":"from_the_future","n":1}"# + "\n", to: "main.jsonl")
        try store.appendAccount(
            accountID: "main", label: "Main", clientID: Secret("c"), clientSecret: Secret("s"), refreshToken: Secret("seed"))
        var lastToken: TokenRecord?
        var lastStatus: StatusRecord?
        for round in 1...12 {
            clock.advance(1)
            lastToken = try store.appendToken(
                accountID: "main", refreshToken: Secret("rt-\(round)"), accessToken: Secret("at-\(round)"),
                expiresAt: clock.now + 3600, source: "s")
            lastStatus = try store.appendStatus(accountID: "main", state: round % 2 == 0 ? "enabled" : "disabled", by: .auto)
            store.recordStats(accountID: "main", successes: 1)
            try store.flush()
        }
        let lines = try dir.lines("main.jsonl")
        #expect(lines.count <= 10)
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/main.jsonl.tmp"))
        #expect(try dir.permissions("main.jsonl") == 0o600)
        let snapshot = try #require(AccountStateStore.load(directory: dir.path)["main"])
        #expect(snapshot.warnings.isEmpty)
        #expect(snapshot.token == lastToken)
        #expect(snapshot.status == lastStatus)
        #expect(snapshot.stats?.counters.successes == 12)
        #expect(snapshot.account?.label == "Main")
        // Each line parses and the unknown type survived compaction.
        for line in lines { _ = try JSONSerialization.jsonObject(with: Data(line.utf8)) }
        #expect(lines.contains { $0.contains("from_the_future") })

        // An explicit compaction leaves one line per type, in file order.
        try store.compact(accountID: "main")
        let types = try dir.lines("main.jsonl").map { line -> String in
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            return object?["type"] as? String ?? "?"
        }
        #expect(types.sorted() == ["account", "from_the_future", "stats", "status", "token"])
        #expect(types.first == "from_the_future")
    }

    @Test("compaction by size")
    func compactionBySize() throws {
        let dir = try StateTestDirectory()
        defer { dir.remove() }
        let store = Self.store(dir.path, compaction: .init(bytes: 2048, lines: 1_000_000))
        for round in 1...40 {
            try store.appendStatus(accountID: "main", state: "disabled", reason: "round \(round)", by: .operator)
        }
        let attributes = try FileManager.default.attributesOfItem(atPath: dir.path + "/main.jsonl")
        #expect(((attributes[.size] as? NSNumber)?.intValue ?? .max) <= 2048)
        #expect(AccountStateStore.load(directory: dir.path)["main"]?.status?.reason == "round 40")
    }

    @Test("stats are only written on flush, cumulative, and continue after a restart")
    func statsOnFlush() throws {
        let dir = try StateTestDirectory()
        defer { dir.remove() }
        let store = Self.store(dir.path)
        for _ in 0..<100 {
            store.recordStats(accountID: "main", successes: 1, inputTokens: 10, outputTokens: 2)
        }
        store.recordStats(accountID: "main", failures: 1)
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/main.jsonl"))
        #expect(store.stats(accountID: "main") == StatsCounters(successes: 100, failures: 1, inputTokens: 1000, outputTokens: 200))

        try store.flush()
        #expect(try dir.lines("main.jsonl").count == 1)
        try store.flush()  // nothing new: nothing written
        #expect(try dir.lines("main.jsonl").count == 1)

        store.recordStats(accountID: "main", successes: 1)
        try store.flush(durable: true)
        #expect(try dir.lines("main.jsonl").count == 2)
        #expect(AccountStateStore.load(directory: dir.path)["main"]?.stats?.counters.successes == 101)

        // A new process continues the counters from the file.
        let restarted = Self.store(dir.path)
        _ = restarted.loadAll()
        #expect(restarted.stats(accountID: "main").successes == 101)
        restarted.recordStats(accountID: "main", successes: 1, failures: 2)
        try restarted.flush()
        let counters = AccountStateStore.load(directory: dir.path)["main"]?.stats?.counters
        #expect(counters == StatsCounters(successes: 102, failures: 3, inputTokens: 1000, outputTokens: 200))

        // Even without loadAll, the first flush reads the file's counters first.
        let fresh = Self.store(dir.path)
        fresh.recordStats(accountID: "main", successes: 1)
        try fresh.flush()
        #expect(AccountStateStore.load(directory: dir.path)["main"]?.stats?.counters.successes == 103)
    }

    @Test("removing a file")
    func removeFile() throws {
        let dir = try StateTestDirectory()
        defer { dir.remove() }
        let store = Self.store(dir.path)
        try store.appendStatus(accountID: "gone", state: "disabled", by: .operator)
        #expect(try store.removeFile(accountID: "gone"))
        #expect(try !store.removeFile(accountID: "gone"))
        #expect(AccountStateStore.load(directory: dir.path).isEmpty)
    }
}
