import Foundation
import NIOHTTP1
import ProxyConfig
import ProxyServer
import QSimulator
import Testing

/// What is particular to `kind: kiro` accounts, against the simulator's Kiro auth service (`POST /refreshToken`) and
/// its Kiro checks of `POST /` (a `profileArn`, KiroIDE user agents). The behaviour both kinds share (failover,
/// cooling, refresh, rotation) is in ``AccountsEndToEndTests``, which runs for both.
@Suite("Kiro accounts end to end")
struct KiroAccountsEndToEndTests {
    private static func healthItems(_ harness: ProxyHarness) async throws -> [String: [String: Any]] {
        let health = try await harness.get("/healthz", headers: [])
        let items = try #require((health.json?["accounts"] as? [String: Any])?["items"] as? [[String: Any]])
        return Dictionary(uniqueKeysWithValues: items.map { ($0["id"] as! String, $0) })
    }

    private static func tokenRecords(_ directory: String, _ id: String) -> [[String: Any]] {
        let text = (try? String(contentsOfFile: directory + "/\(id).jsonl", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] }
            .filter { $0["type"] as? String == "token" }
    }

    @Test("a Kiro account refreshes at Kiro's auth service and its requests name the profile the refresh returned")
    func servesWithTheReturnedProfile() async throws {
        try await withProxy(accounts: simAccount(.kiro)) { harness in
            let reply = try await harness.post("/v1/messages", claudeRequest("[[sim:text:hello from kiro]]"))
            #expect(reply.status == 200)
            #expect(reply.body.contains("hello from kiro"))
            #expect(harness.simulator.refreshesByClient == ["kiro": 1])
            // The simulator refuses a Kiro token's request without a profileArn or without KiroIDE user agents, so a
            // 200 already shows both; the count shows which profile was named.
            #expect(harness.simulator.requestsByProfile == [SimulatorOptions.defaultKiroProfileARN: 1])
            #expect(harness.simulator.rejectedRequests == 0)
        }
    }

    @Test("the admin API lists each account's kind, and a Kiro account's credentials without a client registration")
    func adminListing() async throws {
        let accounts = simAccount(.kiro) + "\n" + "  - id: o\n" + credentialLines(.oidc, refreshToken: "rt-o")
        try await withProxy(accounts: accounts, extraYAML: "admin_keys: [\"kiro-admin\"]") { harness in
            let reply = try await harness.get("/v2/accounts", headers: [("authorization", "Bearer kiro-admin")])
            #expect(reply.status == 200)
            let items = try #require(reply.json?["accounts"] as? [[String: Any]])
            let byID = Dictionary(uniqueKeysWithValues: items.map { ($0["id"] as! String, $0) })
            #expect(byID["sim"]?["kind"] as? String == "kiro")
            #expect(byID["sim"]?["credentials"] as? [String: String] == ["refresh_token": "set"])
            #expect(byID["o"]?["kind"] as? String == "oidc")
            #expect(byID["o"]?["credentials"] as? [String: String] == ["client_id": "set", "client_secret": "set", "refresh_token": "set"])
            #expect(!reply.body.contains("sim-refresh"))
        }
    }

    @Test("a configured profile_arn wins over the one the refresh returns")
    func configuredProfileWins() async throws {
        let accounts = simAccount(.kiro) + "\n    profile_arn: arn:aws:codewhisperer:eu-central-1:2:profile/mine"
        try await withProxy(accounts: accounts) { harness in
            let reply = try await harness.post("/v1/messages", claudeRequest("hi"))
            #expect(reply.status == 200)
            #expect(harness.simulator.requestsByProfile == ["arn:aws:codewhisperer:eu-central-1:2:profile/mine": 1])
        }
    }

    @Test("a refused Kiro refresh makes the account refresh_failed, recorded in the state directory")
    func refusedRefresh() async throws {
        let options = SimulatorOptions(refreshTokens: ["some-other-token"])
        try await withProxy(simulator: options, accounts: simAccount(.kiro)) { harness in
            let reply = try await harness.post("/v1/messages", claudeRequest("hi"))
            #expect(reply.status >= 500)
            let items = try await Self.healthItems(harness)
            #expect(items["sim"]?["state"] as? String == "refresh_failed")
            let text = try String(contentsOfFile: harness.stateDirectory + "/sim.jsonl", encoding: .utf8)
            #expect(text.contains(#""state":"refresh_failed""#))
            #expect(!text.contains("sim-refresh"))  // no token in a status record's reason
            #expect(harness.simulator.totalRequests == 0)
        }
    }

    @Test("a mixed pool: a throttled Kiro account fails over to an OIDC one and back")
    func mixedPoolFailsOver() async throws {
        let accounts = """
              - id: a
            \(credentialLines(.kiro, refreshToken: "rt-a"))
                profile_arn: arn:aws:codewhisperer:us-east-1:1:profile/a
              - id: b
            \(credentialLines(.oidc, refreshToken: "rt-b"))
                profile_arn: arn:aws:codewhisperer:us-east-1:1:profile/b
            """
        try await withProxy(accounts: accounts, extraYAML: "balancing: {strategy: round_robin, retries: 2, cooldown: 30s}") { harness in
            #expect(try await harness.post("/v1/messages", claudeRequest("hi [[sim:throttle:profile/a]]")).status == 200)
            let items = try await Self.healthItems(harness)
            #expect(items["a"]?["state"] as? String == "cooling")
            #expect(items["b"]?["state"] as? String == "active")
            #expect(harness.simulator.refreshesByClient == ["kiro": 1, "c": 1])
            #expect(harness.simulator.requestsByProfile["arn:aws:codewhisperer:us-east-1:1:profile/b"] == 1)
            // The OIDC account's request carries no Kiro user agent: the Kiro headers are the Kiro kind's only.
            #expect(try await harness.post("/v1/messages", claudeRequest("hi")).status == 200)
        }
    }

    @Test("a rotated Kiro refresh token is in the state file before use, and a restart refreshes with it")
    func rotationSurvivesARestart() async throws {
        let stateDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("q2api-kiro-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: stateDirectory) }
        let stateYAML = "state_dir: \(stateDirectory)"
        let first = SimulatorOptions(refreshTokens: ["sim-refresh"], rotateRefreshTokens: true)
        try await withProxy(simulator: first, accounts: simAccount(.kiro), extraYAML: stateYAML) { harness in
            let reply = try await harness.post("/v1/messages", claudeRequest("hi"))
            #expect(reply.status == 200)
        }
        let tokens = Self.tokenRecords(stateDirectory, "sim")
        let rotated = try #require(tokens.last?["refresh_token"] as? String)
        #expect(rotated != "sim-refresh")
        #expect(tokens.last?["kind"] as? String == "kiro")
        #expect(tokens.last?["profile_arn"] as? String == SimulatorOptions.defaultKiroProfileARN)

        // A fresh service that knows only the rotated token (the seed was spent): the restarted proxy must use it.
        let second = SimulatorOptions(refreshTokens: [rotated], rotateRefreshTokens: true)
        try await withProxy(simulator: second, accounts: simAccount(.kiro), extraYAML: stateYAML) { harness in
            #expect(try await harness.post("/v1/messages", claudeRequest("hi")).status == 200)
            #expect(harness.simulator.refreshesByClient == ["kiro": 1])
            let items = try await Self.healthItems(harness)
            #expect(items["sim"]?["state"] as? String == "active")
        }
    }

    @Test("changing an account's kind on reload is a credential change: the token is dropped and the new kind refreshes")
    func reloadChangingKind() async throws {
        try await withProxy(accounts: simAccount(.oidc), reload: pollingReload) { harness in
            #expect(try await harness.post("/v1/messages", claudeRequest("hi")).status == 200)
            #expect(harness.simulator.refreshesByClient == ["c": 1])
            try harness.editConfig(replacing: "    client_id: c\n    client_secret: s\n", with: "    kind: kiro\n")
            try await harness.eventuallyAsync("the new config is in force") { try await harness.generation() == 2 }
            #expect(try await harness.post("/v1/messages", claudeRequest("hi")).status == 200)
            #expect(harness.simulator.refreshesByClient == ["c": 1, "kiro": 1])
        }
    }
}
