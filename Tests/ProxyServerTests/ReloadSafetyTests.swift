import Foundation
import NIOCore
import NIOPosix
import ProxyConfig
import Testing

@testable import ProxyServer

private let safetyAdmin = [("authorization", "Bearer reload-admin")]
private let safetyAdminYAML = #"admin_keys: ["reload-admin"]"#

private func reloadOptions(poll: Duration? = nil, settle: Duration = .milliseconds(50)) -> ReloadOptions {
    var options = ReloadOptions()
    options.reloadOnSignal = false
    options.pollInterval = poll
    options.settle = settle
    options.listenerGracePeriod = .seconds(5)
    options.environment = [:]
    return options
}

extension ProxyHarness {
    /// `POST /v2/reload` with the admin key: the status and the error message, if any.
    func adminReload() async throws -> (status: Int, message: String?) {
        let reply = try await post("/v2/reload", "", headers: safetyAdmin)
        let error = reply.json?["error"] as? [String: Any]
        return (reply.status, error?["message"] as? String)
    }

    /// `last_error` of `GET /v2/config`.
    func lastReloadError() async throws -> String? {
        try await get("/v2/config", headers: safetyAdmin).json?["last_error"] as? String
    }

    func configText() throws -> String { try String(contentsOfFile: configPath, encoding: .utf8) }

    func writeConfig(_ text: String) throws { try text.write(toFile: configPath, atomically: true, encoding: .utf8) }
}

@Suite("Reload safety: settle and guard rails")
struct ReloadSafetyTests {
    // MARK: Guard rails (pure)

    private func config(_ yaml: String) throws -> ProxyConfig {
        try ProxyConfig.parse(yaml: yaml, path: "/tmp/q2api.yaml", environment: [:], readFile: { _ in "" })
    }

    @Test("guard rails: missing accounts, api_keys or listeners are refused; written-out empty lists are not")
    func guardRails() throws {
        let old = try config(
            """
            version: 1
            listeners: [{address: 127.0.0.1:9100}]
            api_keys: [sk-one]
            accounts: [{id: a, client_id: x, client_secret: y, refresh_token: z}]
            """)
        let bare = "version: 1\nlisteners: [{address: 127.0.0.1:9100}]\n"
        var reasons = ReloadGuardRails.check(from: old, to: try config(bare), writtenKeys: ProxyConfig.writtenKeys(yaml: bare))
        #expect(reasons.count == 2, "\(reasons)")
        #expect(reasons.contains { $0.contains("remove every account (a)") && $0.contains("accounts: []") })
        #expect(reasons.contains { $0.contains("client authentication") && $0.contains("api_keys: []") })

        let explicit = bare + "api_keys: []\naccounts: []\n"
        reasons = ReloadGuardRails.check(from: old, to: try config(explicit), writtenKeys: ProxyConfig.writtenKeys(yaml: explicit))
        #expect(reasons.isEmpty, "\(reasons)")

        let noListeners = "version: 1\napi_keys: [sk-one]\naccounts: [{id: a, client_id: x, client_secret: y, refresh_token: z}]\n"
        reasons = ReloadGuardRails.check(
            from: old, to: try config(noListeners), writtenKeys: ProxyConfig.writtenKeys(yaml: noListeners))
        #expect(reasons.count == 1 && reasons[0].contains("listeners is missing"), "\(reasons)")

        // Nothing to lose: a config without accounts or keys may stay without them.
        let empty = try config(bare)
        #expect(ReloadGuardRails.check(from: empty, to: empty, writtenKeys: ProxyConfig.writtenKeys(yaml: bare)).isEmpty)
    }

    // MARK: Settle (the file reader)

    private func temporaryFile(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("q2api-settle-\(UUID().uuidString).yaml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("a writer that pauses in the middle of the file never gets its first half read as settled")
    func pausedWriter() async throws {
        let full = String(repeating: "line of the config file\n", count: 40)
        let path = try temporaryFile("")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.truncate(atOffset: 0)
        try handle.write(contentsOf: Data(full.utf8.prefix(full.utf8.count / 2)))
        let reading = Task { await SettledFile(path: path, settle: .milliseconds(300)).read() }
        try await Task.sleep(for: .milliseconds(150))
        try handle.write(contentsOf: Data(full.utf8.dropFirst(full.utf8.count / 2)))
        try handle.close()
        #expect(await reading.value == .settled(Data(full.utf8)))
    }

    @Test("a file that keeps changing is reported as changing, then reads settled once it stops")
    func keepsChanging() async throws {
        let path = try temporaryFile("version: 1\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let writer = Task {
            for round in 0..<40 {
                try "version: 1\n# \(round)\n".write(toFile: path, atomically: false, encoding: .utf8)
                try await Task.sleep(for: .milliseconds(15))
            }
        }
        let reader = SettledFile(path: path, settle: .milliseconds(40), attempts: 4)
        #expect(await reader.read() == .changing)
        try await writer.value
        #expect(await reader.read() == .settled(Data("version: 1\n# 39\n".utf8)))
        // A settle of zero reads once; a missing file settles as unreadable.
        #expect(await SettledFile(path: path, settle: .zero).read() == .settled(Data("version: 1\n# 39\n".utf8)))
        #expect(await SettledFile(path: path + ".missing", settle: .milliseconds(5)).read() == .settled(nil))
    }

    @Test("a file exactly as the last settled read found it needs no second read; a touched one does")
    func knownSnapshot() async throws {
        let path = try temporaryFile("version: 1\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let first = await SettledFile(path: path, settle: .milliseconds(30)).readTimed()
        let known = try #require(first.snapshot)
        let slow = SettledFile(path: path, settle: .seconds(30))
        let clock = ContinuousClock()
        let elapsed = await clock.measure {
            #expect(await slow.readTimed(known: known).outcome == .settled(Data("version: 1\n".utf8)))
        }
        #expect(elapsed < .seconds(5))
        // Rewritten (even with the same content): read twice again.
        try "version: 1\n".write(toFile: path, atomically: true, encoding: .utf8)
        let again = await SettledFile(path: path, settle: .milliseconds(30), attempts: 1).readTimed(known: known)
        #expect(again.outcome == .settled(Data("version: 1\n".utf8)))
        #expect(again.snapshot != known)
    }

    // MARK: The running server

    @Test("a reload that drops every account or the api_keys by omission is refused and shown; written out, it applies")
    func refusedThenExplicit() async throws {
        try await withProxy(extraYAML: safetyAdminYAML, reload: reloadOptions()) { proxy in
            let original = try proxy.configText()
            let accountsStart = try #require(original.range(of: "accounts:\n"))
            let withoutAccounts = String(original[..<accountsStart.lowerBound])
            try proxy.writeConfig(withoutAccounts)
            let refused = try await proxy.adminReload()
            #expect(refused.status == 409)
            #expect(refused.message?.contains("reload refused") == true && refused.message?.contains("accounts: []") == true, "\(refused)")
            #expect(refused.message?.contains("-1 account (sim)") == true, "the diff is shown: \(refused)")
            let shown = try await proxy.lastReloadError()
            #expect(shown?.contains("reload refused") == true)
            #expect(try await proxy.generation() == 1)
            #expect(try await proxy.post("/v1/messages", claudeRequest("still here")).status == 200)

            // Said on purpose: applied.
            try proxy.writeConfig(withoutAccounts + "accounts: []\n")
            #expect(try await proxy.adminReload().status == 200)
            #expect(try await proxy.lastReloadError() == nil)
            #expect(try await proxy.generation() == 2)

            // api_keys removed by omission: refused; written as [] on this loopback listener: applied.
            let keysLine = #"api_keys: ["\#(ProxyHarness.apiKey)"]"# + "\n"
            let current = try proxy.configText()
            try proxy.writeConfig(current.replacingOccurrences(of: keysLine, with: ""))
            let keys = try await proxy.adminReload()
            #expect(keys.status == 409 && keys.message?.contains("api_keys: []") == true, "\(keys)")
            #expect(try await proxy.post("/v1/messages", claudeRequest("x"), headers: []).status == 401)
            try proxy.writeConfig(current.replacingOccurrences(of: keysLine, with: "api_keys: []\n"))
            #expect(try await proxy.adminReload().status == 200)
            #expect(try await proxy.generation() == 3)
        }
    }

    @Test("a reload that would leave no listener is refused: the old listener keeps answering")
    func noListenerLeft() async throws {
        let busy = try freePort()
        // Hold the port so the new listener cannot bind.
        let blocker = try PortBlocker(port: busy)
        defer { blocker.close() }
        try await withProxy(extraYAML: safetyAdminYAML, reload: reloadOptions()) { proxy in
            try proxy.writeConfig(proxy.configText().replacingOccurrences(of: "127.0.0.1:0", with: "127.0.0.1:\(busy)"))
            let outcome = try await proxy.adminReload()
            #expect(outcome.status == 409)
            #expect(outcome.message?.contains("no listener") == true, "\(outcome)")
            #expect(try await proxy.generation() == 1)
            #expect(try await proxy.post("/v1/messages", claudeRequest("still here")).status == 200)
        }
    }

    @Test("a file that keeps changing is not applied (409 config_changing); the reload is retried once it settles")
    func keepsChangingThenRetried() async throws {
        // Ten reads 80 ms apart all differ: the writer changes the file every few milliseconds for 2 s.
        try await withProxy(extraYAML: safetyAdminYAML, reload: reloadOptions(settle: .milliseconds(80))) { proxy in
            let original = try proxy.configText()
            let writer = Task {
                let end = ContinuousClock.now + .seconds(2)
                var round = 0
                while ContinuousClock.now < end {
                    round += 1
                    try proxy.writeConfig(original + "\n# round \(round)\n")
                    try await Task.sleep(for: .milliseconds(4))
                }
            }
            try await Task.sleep(for: .milliseconds(20))
            let outcome = try await proxy.adminReload()
            #expect(outcome.status == 409, "\(outcome)")
            #expect(outcome.message?.contains("kept changing") == true, "\(outcome)")
            try await writer.value
            // Nobody asks again: the postponed reload is retried by itself.
            try await proxy.eventuallyAsync("the retried reload applies the settled file") { try await proxy.generation() >= 2 }
            #expect(try await proxy.lastReloadError() == nil)
        }
    }

    @Test("an editor writing in two halves with a pause: the half-written file is never applied")
    func halfWrittenNeverApplied() async throws {
        try await withProxy(extraYAML: safetyAdminYAML, reload: reloadOptions(poll: .milliseconds(30), settle: .milliseconds(300))) { proxy in
            let original = try proxy.configText()
            let edited = original.replacingOccurrences(
                of: #"api_keys: ["\#(ProxyHarness.apiKey)"]"#, with: #"api_keys: ["\#(ProxyHarness.apiKey)", "sk-new"]"#)
            let half = edited.utf8.count / 2
            let handle = try #require(FileHandle(forWritingAtPath: proxy.configPath))
            try handle.truncate(atOffset: 0)
            try handle.write(contentsOf: Data(edited.utf8.prefix(half)))
            try await Task.sleep(for: .milliseconds(150))
            try handle.write(contentsOf: Data(edited.utf8.dropFirst(half)))
            try handle.close()
            try await proxy.eventuallyAsync("the whole file is applied") { try await proxy.generation() >= 2 }
            #expect(try await proxy.generation() == 2, "one reload, of the whole file")
            #expect(try await proxy.lastReloadError() == nil)
            #expect(try await proxy.post("/v1/messages", claudeRequest("hi"), headers: [("x-api-key", "sk-new")]).status == 200)
        }
    }
}

/// Holds a loopback port so nothing else can bind it.
private final class PortBlocker: Sendable {
    let channel: any Channel

    init(port: Int) throws {
        channel = try ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: port).wait()
    }

    func close() { try? channel.close().wait() }
}
