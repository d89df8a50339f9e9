import Foundation
import NIOHTTP1
import ProxyServer
import QSimulator
import Testing

private let adminKey = "admin-test-key"
private let admin = [("authorization", "Bearer \(adminKey)")]
private let adminYAML = "admin_keys: [\"\(adminKey)\"]"

private extension ProxyHarness {
    func admin(_ method: String, _ path: String, _ body: String? = nil) async throws -> Reply {
        switch method {
        case "GET": return try await get(path, headers: [("authorization", "Bearer \(adminKey)")])
        case "POST": return try await post(path, body ?? "", headers: [("authorization", "Bearer \(adminKey)")])
        default: return try await send(method, path, body, headers: [("x-admin-key", adminKey)])
        }
    }

    func send(_ method: String, _ path: String, _ body: String?, headers: [(String, String)]) async throws -> Reply {
        try await request(method, path, body, headers: headers)
    }

    func accountState(_ id: String) async throws -> String? {
        try await admin("GET", "/v2/accounts/\(id)").json?["state"] as? String
    }
}

private func errorType(_ reply: ProxyHarness.Reply) -> String? {
    (reply.json?["error"] as? [String: Any])?["type"] as? String
}

private func errorMessage(_ reply: ProxyHarness.Reply) -> String {
    (reply.json?["error"] as? [String: Any])?["message"] as? String ?? ""
}

@Suite("Admin API (/v2) end to end")
struct AdminAPITests {
    @Test("without admin_keys the admin API and the console are off")
    func offWithoutKeys() async throws {
        try await withProxy { harness in
            let accounts = try await harness.get("/v2/accounts", headers: admin)
            #expect(accounts.status == 404)
            #expect(errorMessage(accounts).contains("admin_keys"))
            #expect(try await harness.get("/", headers: []).status == 404)
        }
    }

    @Test("admin_open_on_loopback serves the admin API to loopback clients without a key")
    func openOnLoopback() async throws {
        try await withProxy(extraYAML: "admin_open_on_loopback: true") { harness in
            let accounts = try await harness.get("/v2/accounts", headers: [])
            #expect(accounts.status == 200)
            #expect(try await harness.get("/", headers: []).status == 200)
        }
    }

    @Test("an unknown admin route answers 404 in the admin API's error shape, not Claude's")
    func unknownAdminRoute() async throws {
        try await withProxy(extraYAML: adminYAML) { harness in
            let reply = try await harness.get("/v2/nope", headers: admin)
            #expect(reply.status == 404)
            #expect(errorType(reply) == "not_found")
            #expect(reply.json?["type"] == nil, "no Claude envelope: \(reply.body)")
        }
    }

    @Test("a missing or wrong admin key is 401; an API key is not an admin key")
    func authentication() async throws {
        try await withProxy(extraYAML: adminYAML) { harness in
            let missing = try await harness.get("/v2/accounts", headers: [])
            #expect(missing.status == 401)
            #expect(errorType(missing) == "authentication_error")
            #expect(try await harness.get("/v2/accounts", headers: [("authorization", "Bearer nope")]).status == 401)
            #expect(try await harness.get("/v2/accounts", headers: [("x-api-key", ProxyHarness.apiKey)]).status == 401)
            #expect(try await harness.get("/v2/accounts", headers: [("x-admin-key", adminKey)]).status == 200)
            // An admin key also works as an API key.
            #expect(try await harness.post("/v1/messages", claudeRequest("hi"), headers: admin).status == 200)
            // The console page itself carries no secret.
            let page = try await harness.get("/", headers: [])
            #expect(page.status == 200)
            #expect(page.headers.first(name: "content-type")?.hasPrefix("text/html") == true)
            #expect(page.body.contains("q2api console"))
        }
    }

    @Test("accounts are listed with source and state, and never with a secret")
    func listing() async throws {
        try await withProxy(extraYAML: adminYAML) { harness in
            #expect(try await harness.post("/v1/messages", claudeRequest("hi")).status == 200)
            let reply = try await harness.admin("GET", "/v2/accounts")
            #expect(reply.status == 200)
            let accounts = try #require(reply.json?["accounts"] as? [[String: Any]])
            #expect(accounts.count == 1)
            #expect(accounts[0]["id"] as? String == "sim")
            #expect(accounts[0]["source"] as? String == "yaml")
            #expect(accounts[0]["state"] as? String == "active")
            #expect(accounts[0]["enabled"] as? Bool == true)
            #expect(accounts[0]["successes"] as? Int == 1)
            #expect(accounts[0]["token_valid"] as? Bool == true)
            #expect((accounts[0]["credentials"] as? [String: String])?["refresh_token"] == "set")
            for secret in ["sim-secret", "sim-refresh", "sim-client", ProxyHarness.apiKey, adminKey] {
                #expect(!reply.body.contains(secret), "the listing contains \(secret)")
            }
            let missing = try await harness.admin("GET", "/v2/accounts/nope")
            #expect(missing.status == 404)
            #expect(errorType(missing) == "not_found")
        }
    }

    @Test("disabling a YAML account takes it out of service and is recorded as an operator override")
    func disableAndEnable() async throws {
        try await withProxy(extraYAML: adminYAML) { harness in
            let disabled = try await harness.admin("POST", "/v2/accounts/sim/disable")
            #expect(disabled.status == 200)
            #expect(disabled.json?["state"] as? String == "disabled")
            #expect(disabled.json?["enabled"] as? Bool == false)
            #expect(try await harness.post("/v1/messages", claudeRequest("hi")).status == 529)
            let file = try String(contentsOfFile: harness.stateDirectory + "/sim.jsonl", encoding: .utf8)
            #expect(file.contains(#""state":"disabled""#) && file.contains(#""by":"operator""#))

            let enabled = try await harness.admin("PATCH", "/v2/accounts/sim", #"{"enabled": true}"#)
            #expect(enabled.status == 200)
            #expect(enabled.json?["state"] as? String == "active")
            #expect(try await harness.post("/v1/messages", claudeRequest("hi")).status == 200)
        }
    }

    @Test("a YAML account's label, weight and existence belong to the file: 409 with a message saying so")
    func yamlOwnership() async throws {
        try await withProxy(extraYAML: adminYAML) { harness in
            let label = try await harness.admin("PATCH", "/v2/accounts/sim", #"{"label": "x"}"#)
            #expect(label.status == 409)
            #expect(errorMessage(label).contains("q2api.yaml"))
            let delete = try await harness.admin("DELETE", "/v2/accounts/sim")
            #expect(delete.status == 409)
            #expect(errorMessage(delete).contains("q2api.yaml"))
            let unknown = try await harness.admin("PATCH", "/v2/accounts/sim", #"{"colour": "red"}"#)
            #expect(unknown.status == 400)
            let badJSON = try await harness.admin("PATCH", "/v2/accounts/sim", "{nope")
            #expect(badJSON.status == 400)
            #expect(errorType(badJSON) == "invalid_request")
        }
    }

    @Test("a run-time account is validated by a refresh, saved in the state directory, edited and deleted")
    func runtimeAccountLifecycle() async throws {
        let options = SimulatorOptions(refreshTokens: ["sim-refresh", "rt-new"], rotateRefreshTokens: true)
        try await withProxy(simulator: options, extraYAML: adminYAML) { harness in
            let refused = try await harness.admin(
                "POST", "/v2/accounts", #"{"label":"Bad","client_id":"c","client_secret":"s","refresh_token":"wrong"}"#)
            #expect(refused.status == 422)
            #expect(errorType(refused) == "invalid_credentials")
            #expect(!FileManager.default.fileExists(atPath: harness.stateDirectory + "/bad.jsonl"))

            let missing = try await harness.admin("POST", "/v2/accounts", #"{"label":"No token","client_id":"c","client_secret":"s"}"#)
            #expect(missing.status == 400)
            #expect(errorMessage(missing).contains("refresh_token"))

            let created = try await harness.admin(
                "POST", "/v2/accounts", #"{"label":"Team B","client_id":"c","client_secret":"s","refresh_token":"rt-new","weight":2}"#)
            #expect(created.status == 201)
            #expect(created.json?["id"] as? String == "team-b")
            #expect(created.json?["source"] as? String == "state")
            #expect(created.json?["weight"] as? Int == 2)
            #expect(!created.body.contains("rt-new"))
            // The validating refresh rotated the token: the account must work with the rotated one.
            let pinned = try await harness.post(
                "/v1/messages", claudeRequest("hi"), headers: admin + [("x-q2api-account", "team-b")])
            #expect(pinned.status == 200)
            #expect(try await harness.accountState("team-b") == "active")
            #expect(harness.simulator.refreshCount == 1)  // the token from the validation was reused

            let duplicate = try await harness.admin(
                "POST", "/v2/accounts", #"{"id":"sim","client_id":"c","client_secret":"s","refresh_token":"rt-new"}"#)
            #expect(duplicate.status == 409)

            let renamed = try await harness.admin("PATCH", "/v2/accounts/team-b", #"{"label":"Team Bee"}"#)
            #expect(renamed.status == 200)
            #expect(renamed.json?["label"] as? String == "Team Bee")

            let deleted = try await harness.admin("DELETE", "/v2/accounts/team-b")
            #expect(deleted.status == 200)
            #expect(deleted.json?["deleted"] as? String == "team-b")
            #expect(!FileManager.default.fileExists(atPath: harness.stateDirectory + "/team-b.jsonl"))
            #expect(try await harness.admin("GET", "/v2/accounts/team-b").status == 404)

            let unknownPin = try await harness.post("/v1/messages", claudeRequest("hi"), headers: admin + [("x-q2api-account", "team-b")])
            #expect(unknownPin.status == 400)
        }
    }

    @Test("POST /v2/reload answers with the diff, or 422 with the error and its line; GET /v2/config shows both")
    func reloadAndConfig() async throws {
        try await withProxy(extraYAML: adminYAML) { harness in
            try harness.editConfig(replacing: "log: {level: critical}", with: "log: {level: critical}\nbalancing: {retries: 1}")
            let reloaded = try await harness.admin("POST", "/v2/reload")
            #expect(reloaded.status == 200)
            #expect(reloaded.json?["status"] as? String == "reloaded")
            #expect(reloaded.json?["generation"] as? Int == 2)
            #expect((reloaded.json?["changes"] as? String)?.contains("balancing") == true)

            try harness.editConfig(replacing: "balancing: {retries: 1}", with: "balancing: {strategy: fastest}")
            let rejected = try await harness.admin("POST", "/v2/reload")
            #expect(rejected.status == 422)
            #expect(errorType(rejected) == "invalid_config")
            #expect(errorMessage(rejected).contains("q2api.yaml:") && errorMessage(rejected).contains("balancing.strategy"))

            let config = try await harness.admin("GET", "/v2/config")
            #expect(config.status == 200)
            #expect(config.json?["generation"] as? Int == 2)
            #expect((config.json?["last_error"] as? String)?.contains("balancing.strategy") == true)
            let loaded = try #require(config.json?["config"] as? [String: Any])
            // Keys by name and limits only; the key itself never.
            let keys = try #require(loaded["api_keys"] as? [[String: Any]])
            #expect(keys.count == 1 && (keys.first?["name"] as? String)?.hasPrefix("key-") == true && keys.first?["key"] == nil)
            #expect(((loaded["balancing"] as? [String: Any])?["retries"]) as? Int == 1)
            #expect(!config.body.contains(ProxyHarness.apiKey) && !config.body.contains(adminKey) && !config.body.contains("sim-secret"))
        }
    }

    @Test("a device login over HTTP becomes a working run-time account")
    func deviceLogin() async throws {
        let options = SimulatorOptions(deviceInterval: 1, autoApproveDeviceAfterPolls: 1)
        try await withProxy(simulator: options, extraYAML: adminYAML) { harness in
            let started = try await harness.admin("POST", "/v2/auth/start", #"{"label":"Laptop","enabled":true}"#)
            #expect(started.status == 200)
            let authID = try #require(started.json?["authId"] as? String)
            #expect((started.json?["userCode"] as? String)?.isEmpty == false)
            #expect((started.json?["verificationUriComplete"] as? String)?.contains("user_code=") == true)
            #expect(started.json?["interval"] as? Int == 1)
            let status = try await harness.admin("GET", "/v2/auth/status/\(authID)")
            #expect(status.json?["status"] as? String == "pending")

            let claimed = try await harness.admin("POST", "/v2/auth/claim/\(authID)")
            #expect(claimed.status == 200)
            #expect(claimed.json?["status"] as? String == "completed")
            let account = try #require(claimed.json?["account"] as? [String: Any])
            #expect(account["id"] as? String == "laptop")
            #expect(account["source"] as? String == "state")
            let reply = try await harness.post("/v1/messages", claudeRequest("hi"), headers: admin + [("x-q2api-account", "laptop")])
            #expect(reply.status == 200)
            #expect(try await harness.admin("GET", "/v2/auth/status/\(authID)").json?["accountId"] as? String == "laptop")
            #expect(try await harness.admin("GET", "/v2/auth/status/auth_nope").status == 404)
        }
    }
}
