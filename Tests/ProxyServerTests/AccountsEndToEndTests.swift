import Foundation
import NIOHTTP1
import ProxyConfig
import ProxyServer
import QSimulator
import Testing

/// Two accounts of `kind` whose requests the simulator can tell apart by `profileArn`, so a directive such as
/// `[[sim:throttle:profile/a]]` fails only account `a`. The tests below run for both kinds: an OIDC account refreshes
/// at the simulator's `/token`, a Kiro one at its `/refreshToken`, and both serve through the same request path.
func twoAccounts(_ kind: AccountKind) -> String {
    """
      - id: a
    \(credentialLines(kind, refreshToken: "rt-a"))
        profile_arn: arn:aws:codewhisperer:us-east-1:1:profile/a
      - id: b
    \(credentialLines(kind, refreshToken: "rt-b"))
        profile_arn: arn:aws:codewhisperer:us-east-1:1:profile/b
    """
}

/// The default single account `sim` (refresh token `sim-refresh`) of `kind`.
func simAccount(_ kind: AccountKind) -> String {
    "  - id: sim\n" + credentialLines(kind, refreshToken: "sim-refresh")
}

/// An account item's credential keys for `kind`, indented for an item of `accounts:`.
func credentialLines(_ kind: AccountKind, refreshToken: String) -> String {
    switch kind {
    case .oidc: "    client_id: c\n    client_secret: s\n    refresh_token: \(refreshToken)"
    case .kiro: "    kind: kiro\n    refresh_token: \(refreshToken)"
    }
}

/// How many refreshes the simulator answered for `kind`: OIDC refreshes are counted under their client id, Kiro's
/// under `kiro`.
func refreshes(_ harness: ProxyHarness, _ kind: AccountKind) -> Int {
    harness.simulator.refreshesByClient[kind == .kiro ? "kiro" : "c"] ?? 0
}

/// Round robin makes the first request go to `a`, so failover to `b` is deterministic.
private let roundRobin = "balancing: {strategy: round_robin, retries: 2, cooldown: 30s}"

private func healthItems(_ harness: ProxyHarness) async throws -> [String: [String: Any]] {
    let health = try await harness.get("/healthz", headers: [])
    let accounts = try #require(health.json?["accounts"] as? [String: Any])
    let items = try #require(accounts["items"] as? [[String: Any]])
    return Dictionary(uniqueKeysWithValues: items.map { ($0["id"] as! String, $0) })
}

private func stateLines(_ harness: ProxyHarness, _ id: String) throws -> [[String: Any]] {
    let text = (try? String(contentsOfFile: harness.stateDirectory + "/\(id).jsonl", encoding: .utf8)) ?? ""
    return text.split(separator: "\n").compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] }
}

@Suite("Accounts end to end: health states, failover, refresh, state directory")
struct AccountsEndToEndTests {
    @Test("a throttled account cools down, the request fails over to the other account and succeeds", arguments: AccountKind.allCases)
    func throttledFailsOver(kind: AccountKind) async throws {
        try await withProxy(accounts: twoAccounts(kind), extraYAML: roundRobin) { harness in
            let reply = try await harness.post("/v1/messages", claudeRequest("hi [[sim:throttle:profile/a]]"))
            #expect(reply.status == 200)
            let items = try await healthItems(harness)
            #expect(items["a"]?["state"] as? String == "cooling")
            #expect(items["b"]?["state"] as? String == "active")
            #expect(items["a"]?["source"] as? String == "yaml")
            #expect(harness.simulator.totalRequests == 2)
        }
    }

    @Test("when every account is throttled the client gets 429 with retry-after of the earliest recovery", arguments: AccountKind.allCases)
    func allThrottled(kind: AccountKind) async throws {
        try await withProxy(accounts: twoAccounts(kind), extraYAML: roundRobin) { harness in
            let reply = try await harness.post("/v1/messages", claudeRequest("hi [[sim:throttle]]"))
            #expect(reply.status == 429)
            #expect((reply.json?["error"] as? [String: Any])?["type"] as? String == "rate_limit_error")
            // The accounts cool 30 s (+ up to 20 % jitter): retry-after says so, not a fixed guess.
            let retryAfter = try #require(reply.headers.first(name: "retry-after").flatMap { Int($0) })
            #expect((29...37).contains(retryAfter))
            let next = try await harness.post("/v1/messages", claudeRequest("hi"))
            #expect(next.status == 429)
            #expect(harness.simulator.totalRequests == 2)  // Cooling accounts are not tried again.

            let openAI = try await harness.post(
                "/v1/chat/completions", #"{"model":"claude-sonnet-4.5","messages":[{"role":"user","content":"hi"}]}"#)
            #expect(openAI.status == 429)
            #expect(openAI.headers.first(name: "retry-after") != nil)
            #expect((openAI.json?["error"] as? [String: Any])?["type"] as? String == "rate_limit_error")
        }
    }

    @Test("a suspended account is taken out of service for good; with none left the client gets 529", arguments: AccountKind.allCases)
    func suspended(kind: AccountKind) async throws {
        try await withProxy(accounts: twoAccounts(kind), extraYAML: roundRobin) { harness in
            let first = try await harness.post("/v1/messages", claudeRequest("hi [[sim:suspend:profile/a]]"))
            #expect(first.status == 200)
            var items = try await healthItems(harness)
            #expect(items["a"]?["state"] as? String == "suspended")
            // Suspension is remembered in the state directory (by the server, for this seed token).
            let status = try stateLines(harness, "a").last { $0["type"] as? String == "status" }
            #expect(status?["state"] as? String == "suspended")
            #expect(status?["by"] as? String == "auto")

            let second = try await harness.post("/v1/messages", claudeRequest("hi [[sim:suspend]]"))
            #expect(second.status >= 400)
            items = try await healthItems(harness)
            #expect(items["b"]?["state"] as? String == "suspended")
            let none = try await harness.post("/v1/messages", claudeRequest("hi"))
            #expect(none.status == 529)
            #expect((none.json?["error"] as? [String: Any])?["type"] as? String == "overloaded_error")
            let ready = try await harness.get("/readyz", headers: [])
            #expect(ready.status == 503)
        }
    }

    @Test("errors that are not the account's fault (a request the client got wrong, a corrupt stream) never auto-disable it")
    func clientErrorsDoNotDisable() async throws {
        try await withProxy(extraYAML: "balancing: {max_errors: 2, retries: 0}") { harness in
            for _ in 0..<4 {
                #expect(try await harness.post("/v1/messages", claudeRequest("hi [[sim:toolong]]")).status == 400)
                _ = try await harness.post("/v1/messages", claudeRequest("hi [[sim:corrupt]]"))  // a broken stream, whatever the status
            }
            let items = try await healthItems(harness)
            #expect(items["sim"]?["state"] as? String == "active")
            #expect(try await harness.post("/v1/messages", claudeRequest("hi")).status == 200)
        }
    }

    @Test("with shard settings an instance serves only the accounts it owns and says so in /healthz and /metrics", arguments: AccountKind.allCases)
    func sharding(kind: AccountKind) async throws {
        let accounts = twoAccounts(kind).replacingOccurrences(
            of: "profile_arn: arn:aws:codewhisperer:us-east-1:1:profile/a",
            with: "profile_arn: arn:aws:codewhisperer:us-east-1:1:profile/a\n    shard: 1"
        )
        .replacingOccurrences(
            of: "profile_arn: arn:aws:codewhisperer:us-east-1:1:profile/b",
            with: "profile_arn: arn:aws:codewhisperer:us-east-1:1:profile/b\n    shard: 0")
        try await withProxy(accounts: accounts, extraYAML: "shard: {index: 1, count: 2}") { harness in
            let health = try await harness.get("/healthz", headers: [])
            #expect((health.json?["shard"] as? [String: Int]) == ["index": 1, "count": 2])
            #expect(try await healthItems(harness).keys.sorted() == ["a"])
            #expect(try await harness.post("/v1/messages", claudeRequest("hi")).status == 200)
            let metrics = try await harness.get("/metrics", headers: []).body
            let values = Dictionary(
                metrics.split(separator: "\n").filter { !$0.hasPrefix("#") }.compactMap { line -> (String, Double)? in
                    let parts = line.split(separator: " ")
                    return parts.count == 2 ? (String(parts[0]), Double(parts[1]) ?? .nan) : nil
                }, uniquingKeysWith: { first, _ in first })
            #expect(values["q2api_shard_index"] == 1)
            #expect(values["q2api_shard_count"] == 2)
            #expect(values["q2api_accounts_configured"] == 2)
            #expect(values["q2api_accounts_total"] == 1)
            #expect(metrics.contains("account=\"a\""))
            #expect(!metrics.contains("account=\"b\""))
        }
    }

    @Test("an exhausted monthly quota parks the account until the 1st of next month and fails over", arguments: AccountKind.allCases)
    func quotaExhausted(kind: AccountKind) async throws {
        try await withProxy(accounts: twoAccounts(kind), extraYAML: roundRobin) { harness in
            let reply = try await harness.post("/v1/messages", claudeRequest("hi [[sim:monthly:profile/a]]"))
            #expect(reply.status == 200)
            let items = try await healthItems(harness)
            #expect(items["a"]?["state"] as? String == "quota_exhausted")
            let until = try #require(items["a"]?["until"] as? String)
            #expect(until.hasSuffix("-01T00:00:00Z"))
        }
    }

    @Test("an expired token is refreshed once and the request retried on the same account", arguments: AccountKind.allCases)
    func expiredTokenRefreshedOnce(kind: AccountKind) async throws {
        try await withProxy(accounts: twoAccounts(kind), extraYAML: roundRobin) { harness in
            #expect(try await harness.post("/v1/messages", claudeRequest("hi")).status == 200)
            #expect(harness.simulator.refreshCount == 1)
            harness.simulator.expireAllAccessTokens()
            // Round robin: this one goes to b, which has no token yet; the next goes to a, whose token is now dead.
            #expect(try await harness.post("/v1/messages", claudeRequest("hi")).status == 200)
            #expect(try await harness.post("/v1/messages", claudeRequest("hi")).status == 200)
            #expect(harness.simulator.refreshCount == 3)
            #expect(refreshes(harness, kind) == 3)  // at the kind's own refresh endpoint
            let items = try await healthItems(harness)
            #expect(items["a"]?["state"] as? String == "active")
            #expect(items["a"]?["failures"] as? Int == 0)
        }
    }

    @Test("a burst of 50 requests on an expired token causes exactly one refresh", arguments: AccountKind.allCases)
    func burstCausesOneRefresh(kind: AccountKind) async throws {
        try await withProxy(accounts: simAccount(kind)) { harness in
            #expect(try await harness.post("/v1/messages", claudeRequest("hi")).status == 200)
            harness.simulator.expireAllAccessTokens()
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<50 { group.addTask { try await harness.post("/v1/messages", claudeRequest("hi")).status } }
                var statuses: [Int] = []
                for try await status in group { statuses.append(status) }
                return statuses
            }
            #expect(statuses == Array(repeating: 200, count: 50))
            #expect(harness.simulator.refreshCount == 2)
        }
    }

    @Test(
        "an idle account's token is refreshed before it expires, and rotated refresh tokens reach the state file first",
        arguments: AccountKind.allCases)
    func idleRefreshBeforeExpiry(kind: AccountKind) async throws {
        let options = SimulatorOptions(refreshTokens: ["sim-refresh"], accessTokenLifetime: 4, rotateRefreshTokens: true)
        try await withProxy(simulator: options, accounts: simAccount(kind), extraYAML: "refresh: {before_expiry: 2s, jitter: 0s}") {
            harness in
            #expect(try await harness.post("/v1/messages", claudeRequest("hi")).status == 200)
            #expect(harness.simulator.refreshCount == 1)
            // No request now: the background loop refreshes about 2 s in, well before the 4 s expiry.
            try await harness.eventually("the idle refresh", timeout: .seconds(8)) { harness.simulator.refreshCount >= 2 }
            // The old refresh token is now refused by the simulator: the proxy must be using the rotated one.
            #expect(try await harness.post("/v1/messages", claudeRequest("hi")).status == 200)
            let tokens = try stateLines(harness, "sim").filter { $0["type"] as? String == "token" }
            #expect(tokens.count >= 2)
            #expect(Set(tokens.compactMap { $0["refresh_token"] as? String }).count == tokens.count)
            #expect(!tokens.contains { $0["refresh_token"] as? String == "sim-refresh" })
            if kind == .kiro {
                // A Kiro token record says its kind and keeps the profile the refresh returned, which the requests name.
                let arn = SimulatorOptions.defaultKiroProfileARN
                #expect(tokens.allSatisfy { $0["kind"] as? String == "kiro" && $0["profile_arn"] as? String == arn })
                #expect(harness.simulator.requestsByProfile[arn] == 2)
            } else {
                #expect(tokens.allSatisfy { $0["kind"] == nil && $0["profile_arn"] == nil })
            }
            let attributes = try FileManager.default.attributesOfItem(atPath: harness.stateDirectory + "/sim.jsonl")
            #expect((attributes[.posixPermissions] as? Int) == 0o600)
        }
    }

    @Test("session affinity: requests with one X-Claude-Code-Session-Id stay on one account", arguments: AccountKind.allCases)
    func sessionAffinity(kind: AccountKind) async throws {
        try await withProxy(accounts: twoAccounts(kind), extraYAML: "balancing: {strategy: round_robin}") { harness in
            for _ in 0..<6 {
                let reply = try await harness.post(
                    "/v1/messages", claudeRequest("hi"),
                    headers: [("x-api-key", ProxyHarness.apiKey), ("x-claude-code-session-id", "session-1")])
                #expect(reply.status == 200)
            }
            let items = try await healthItems(harness)
            let successes = ["a", "b"].map { items[$0]?["successes"] as? Int ?? -1 }
            #expect(successes.sorted() == [0, 6])
        }
    }

    @Test("a run-time account file dropped into the state directory is picked up live", arguments: AccountKind.allCases)
    func stateFileDroppedIn(kind: AccountKind) async throws {
        try await withProxy(reload: pollingReload) { harness in
            try FileManager.default.createDirectory(atPath: harness.stateDirectory, withIntermediateDirectories: true)
            let credentials = kind == .kiro ? #""kind":"kiro""# : #""client_id":"c","client_secret":"s""#
            let line =
                #"{"ts":"2026-11-22T05:00:00.000Z","type":"account","label":"Dropped",\#(credentials),"refresh_token":"rt-x","profile_arn":null,"enabled":true,"weight":1}"#
            try (line + "\n").write(toFile: harness.stateDirectory + "/dropped.jsonl", atomically: true, encoding: .utf8)
            try await harness.eventuallyAsync("the dropped account appears") { try await healthItems(harness)["dropped"] != nil }
            let items = try await healthItems(harness)
            #expect(items["dropped"]?["source"] as? String == "state")
            #expect(items["dropped"]?["label"] as? String == "Dropped")

            try FileManager.default.removeItem(atPath: harness.stateDirectory + "/dropped.jsonl")
            try await harness.eventuallyAsync("the removed account goes") { try await healthItems(harness)["dropped"] == nil }
        }
    }

    @Test("reloading the YAML keeps a rotated refresh token instead of going back to the seed", arguments: AccountKind.allCases)
    func reloadKeepsRotatedToken(kind: AccountKind) async throws {
        let options = SimulatorOptions(refreshTokens: ["sim-refresh"], rotateRefreshTokens: true)
        try await withProxy(simulator: options, accounts: simAccount(kind), reload: pollingReload) { harness in
            #expect(try await harness.post("/v1/messages", claudeRequest("hi")).status == 200)
            try harness.editConfig(replacing: "log: {level: critical}", with: "log: {level: critical}\nbalancing: {retries: 1}")
            try await harness.eventuallyAsync("the new config is in force") { try await harness.generation() == 2 }
            harness.simulator.expireAllAccessTokens()
            // The seed token was rotated away: only the rotated one, kept across the reload, can refresh.
            #expect(try await harness.post("/v1/messages", claudeRequest("hi")).status == 200)
            #expect(harness.simulator.refreshCount == 2)
            let items = try await healthItems(harness)
            #expect(items["sim"]?["state"] as? String == "active")
        }
    }
}
