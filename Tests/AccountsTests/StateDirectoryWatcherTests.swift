import Accounts
import Foundation
import ProxyConfig
import Testing

@Suite("State directory watcher")
struct StateDirectoryWatcherTests {
    static let line = #"{"ts":"2025-06-15T15:00:00.000Z","type":"status","state":"disabled","by":"operator"}"# + "\n"

    /// Runs a shell command as another process.
    static func shell(_ command: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
    }

    /// The first change the watcher's stream yields, or `nil` after `timeout`.
    static func firstChange(_ watcher: StateDirectoryWatcher, timeout: Duration = .seconds(10)) async -> StateDirectoryChange? {
        await withTaskGroup(of: StateDirectoryChange?.self) { group in
            group.addTask {
                for await change in watcher.changes() { return change }
                return nil
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }

    @Test("files added, changed and removed by another process are reported")
    func externalChanges() throws {
        let dir = try StateTestDirectory()
        defer { dir.remove() }
        let store = AccountStateStore(directory: dir.path)
        try store.appendStatus(accountID: "existing", state: "disabled", by: .operator)
        _ = store.loadAll()
        let watcher = StateDirectoryWatcher(store: store, interval: .milliseconds(20))
        #expect(watcher.poll().isEmpty)

        try Self.shell("printf '%s\\n' '\(Self.line.dropLast())' > '\(dir.path)/dropped.jsonl'")
        #expect(watcher.poll() == [StateDirectoryChange(kind: .added, accountID: "dropped", path: dir.path + "/dropped.jsonl")])
        #expect(watcher.poll().isEmpty)

        try Self.shell("printf '%s\\n' '\(Self.line.dropLast())' >> '\(dir.path)/existing.jsonl'")
        #expect(watcher.poll() == [StateDirectoryChange(kind: .changed, accountID: "existing", path: dir.path + "/existing.jsonl")])

        // Replaced by rename (a new inode), as editors and `jq ... > tmp && mv tmp file` do.
        try Self.shell("cp '\(dir.path)/dropped.jsonl' '\(dir.path)/x.tmp' && mv '\(dir.path)/x.tmp' '\(dir.path)/dropped.jsonl'")
        #expect(watcher.poll().map(\.kind) == [.changed])

        try Self.shell("rm '\(dir.path)/dropped.jsonl'")
        #expect(watcher.poll() == [StateDirectoryChange(kind: .removed, accountID: "dropped", path: dir.path + "/dropped.jsonl")])

        // Files that are not account state files are not watched.
        try Self.shell("echo x > '\(dir.path)/notes.txt' && echo x > '\(dir.path)/main.jsonl.tmp'")
        #expect(watcher.poll().isEmpty)
    }

    @Test("a run-time account saved through the watched store is not reported, and its account and token records land together")
    func savedAccountIsOwnWrite() throws {
        let dir = try StateTestDirectory()
        defer { dir.remove() }
        let store = AccountStateStore(directory: dir.path)
        let watcher = StateDirectoryWatcher(store: store, interval: .milliseconds(20))
        try store.saveNewAccount(
            id: "imported", label: "imported", clientID: "client", clientSecret: "secret", profileARN: nil,
            tokens: NewAccountTokens(
                seedRefreshToken: "seed", currentRefreshToken: "rotated", accessToken: "access", expiresAt: Date(timeIntervalSince1970: 1_750_003_600)
            ))
        #expect(watcher.poll().isEmpty)
        let lines = try dir.lines("imported.jsonl")
        #expect(lines.count == 2)
        #expect(lines.first?.contains(#""type":"account""#) == true && lines.last?.contains(#""type":"token""#) == true)
        let snapshot = AccountStateStore.load(directory: dir.path)["imported"]
        #expect(snapshot?.account?.refreshToken.value == "seed")
        #expect(snapshot?.token?.refreshToken.value == "rotated")
        #expect(snapshot?.token?.source == RefreshTokenFingerprint.of("seed"))
    }

    @Test("this process's own writes, compactions and removals are not reported")
    func ownWritesIgnored() throws {
        let dir = try StateTestDirectory()
        defer { dir.remove() }
        let store = AccountStateStore(directory: dir.path, compaction: .init(bytes: 1 << 30, lines: 4))
        let watcher = StateDirectoryWatcher(store: store, interval: .milliseconds(20))
        for round in 0..<10 {
            try store.appendToken(
                accountID: "main", refreshToken: Secret("rt-\(round)"), accessToken: Secret("at"),
                expiresAt: Date(timeIntervalSince1970: 1_750_003_600), source: "s")
            try store.appendStatus(accountID: "other", state: "disabled", by: .auto)
            store.recordStats(accountID: "main", successes: 1)
            try store.flush()
            #expect(watcher.poll().isEmpty)
        }
        try store.removeFile(accountID: "other")
        #expect(watcher.poll().isEmpty)
    }

    @Test("another process's change just before our own write is still reported")
    func externalChangeBeforeOwnWrite() throws {
        let dir = try StateTestDirectory()
        defer { dir.remove() }
        let store = AccountStateStore(directory: dir.path)
        try store.appendStatus(accountID: "main", state: "disabled", by: .operator)
        let watcher = StateDirectoryWatcher(store: store, interval: .milliseconds(20))
        try Self.shell("printf '%s\\n' '\(Self.line.dropLast())' >> '\(dir.path)/main.jsonl'")
        try Self.shell("printf '%s\\n' '\(Self.line.dropLast())' > '\(dir.path)/late.jsonl'")
        try store.appendStatus(accountID: "main", state: "enabled", by: .operator)
        try store.appendStatus(accountID: "late", state: "enabled", by: .operator)
        #expect(watcher.poll().map { "\($0.kind) \($0.accountID)" } == ["added late", "changed main"])
        #expect(watcher.poll().isEmpty)
    }

    @Test("files present when the watcher starts are its baseline")
    func baseline() throws {
        let dir = try StateTestDirectory()
        defer { dir.remove() }
        try dir.append(Self.line, to: "a.jsonl")
        try dir.append(Self.line, to: "b.jsonl")
        let watcher = StateDirectoryWatcher(directory: dir.path, interval: .milliseconds(20))
        #expect(watcher.poll().isEmpty)
        // A watcher over a directory that does not exist yet sees it appear.
        let later = StateDirectoryWatcher(directory: dir.path + "/later", interval: .milliseconds(20))
        #expect(later.poll().isEmpty)
        try FileManager.default.createDirectory(atPath: dir.path + "/later", withIntermediateDirectories: false)
        try Self.shell("printf '%s\\n' '\(Self.line.dropLast())' > '\(dir.path)/later/c.jsonl'")
        #expect(later.poll().map(\.accountID) == ["c"])
    }

    @Test("the change stream polls at its interval and reports an external file")
    func stream() async throws {
        let dir = try StateTestDirectory()
        defer { dir.remove() }
        let store = AccountStateStore(directory: dir.path)
        let watcher = StateDirectoryWatcher(store: store, interval: .milliseconds(20))
        try store.appendStatus(accountID: "own", state: "disabled", by: .operator)  // not reported
        async let change = Self.firstChange(watcher)
        try await Task.sleep(for: .milliseconds(100))
        try Self.shell("printf '%s\\n' '\(Self.line.dropLast())' > '\(dir.path)/dropped.jsonl'")
        let first = await change
        #expect(first == StateDirectoryChange(kind: .added, accountID: "dropped", path: dir.path + "/dropped.jsonl"))
    }

    @Test("the change stream ends when its task is cancelled")
    func streamCancellation() async throws {
        let dir = try StateTestDirectory()
        defer { dir.remove() }
        let watcher = StateDirectoryWatcher(directory: dir.path, interval: .milliseconds(20))
        let started = ContinuousClock.now
        let first = await Self.firstChange(watcher, timeout: .milliseconds(200))
        #expect(first == nil)
        // Far above the 200 ms it takes: only a stream that ignores cancellation gets near it, even while other
        // tests' blocking calls (Process.waitUntilExit) hold the cooperative pool's two threads on a 2-core box.
        #expect(ContinuousClock.now - started < .seconds(15))
    }
}
