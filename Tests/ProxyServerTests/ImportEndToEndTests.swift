import Accounts
import CredentialImport
import Foundation
import Logging
import ProxyConfig
import ProxyServer
import QSimulator
import Testing
import Upstream

private let adminKey = "admin-import-key"
private let adminHeaders = [("authorization", "Bearer \(adminKey)")]

private let kiroIDEToken = """
    {"accessToken":"aoaEXPIREDACCESS0000000000","refreshToken":"aorIMPORTREFRESH1111111111","expiresAt":"2025-10-08T17:12:56.785Z",
     "clientIdHash":"e87895ae36d9539303a0bcd27feb465a60aeb433","authMethod":"IdC","provider":"Enterprise","region":"us-east-1"}
    """
private let kiroIDEClient = #"{"clientId":"IMPORTCLIENTID00000001","clientSecret":"IMPORTCLIENTSECRET000001","expiresAt":"2099-12-08T14:10:50.000Z"}"#

@Suite("Importing credentials into a running server")
struct ImportEndToEndTests {
    @Test("POST /v2/accounts/import previews, imports a Kiro IDE token that then serves, and recognises a re-import")
    func adminRoute() async throws {
        let options = SimulatorOptions(refreshTokens: ["sim-refresh", "aorIMPORTREFRESH1111111111"], rotateRefreshTokens: true)
        try await withProxy(simulator: options, extraYAML: "admin_keys: [\"\(adminKey)\"]") { harness in
            let body = #"{"token_file": \#(kiroIDEToken), "client_file": \#(kiroIDEClient), "label": "Kiro laptop""#
            let unauthenticated = try await harness.post("/v2/accounts/import", body + "}")
            #expect(unauthenticated.status == 401)

            let preview = try await harness.post("/v2/accounts/import", body + #", "dry_run": true}"#, headers: adminHeaders)
            #expect(preview.status == 200)
            #expect(preview.json?["status"] as? String == "would_import")
            #expect(preview.json?["account_id"] as? String == "kiro-laptop")
            #expect((preview.json?["candidate"] as? [String: Any])?["format"] as? String == "Kiro IDE token cache")
            for secret in ["aorIMPORTREFRESH1111111111", "IMPORTCLIENTSECRET000001", "aoaEXPIREDACCESS0000000000", "IMPORTCLIENTID00000001"] {
                #expect(!preview.body.contains(secret))
            }
            #expect(!FileManager.default.fileExists(atPath: harness.stateDirectory + "/kiro-laptop.jsonl"))
            #expect(harness.simulator.refreshCount == 0)

            let imported = try await harness.post("/v2/accounts/import", body + "}", headers: adminHeaders)
            #expect(imported.status == 201, "\(imported.body)")
            #expect(imported.json?["status"] as? String == "imported")
            #expect((imported.json?["account"] as? [String: Any])?["source"] as? String == "state")
            #expect(!imported.body.contains("aorIMPORTREFRESH1111111111"))
            let served = try await harness.post(
                "/v1/messages", claudeRequest("hi"), headers: [("x-api-key", ProxyHarness.apiKey), ("x-q2api-account", "kiro-laptop")])
            #expect(served.status == 200, "\(served.body)")

            let again = try await harness.post("/v2/accounts/import", body + "}", headers: adminHeaders)
            #expect(again.status == 200)
            #expect(again.json?["status"] as? String == "already_present")
            #expect(again.json?["account_id"] as? String == "kiro-laptop")
        }
    }

    @Test("a Kiro social sign-in pasted into the import route becomes a kind: kiro account that serves")
    func kiroSocialSignIn() async throws {
        let options = SimulatorOptions(refreshTokens: ["sim-refresh", "aorKIROSOCIALREFRESH000000001"], rotateRefreshTokens: true)
        try await withProxy(simulator: options, extraYAML: "admin_keys: [\"\(adminKey)\"]") { harness in
            let token = #"""
                {"accessToken":"aoaKIROSOCIALACCESS","refreshToken":"aorKIROSOCIALREFRESH000000001","expiresAt":"2025-01-01T00:00:00.000Z",
                 "authMethod":"social","provider":"Github","profileArn":"arn:aws:codewhisperer:us-east-1:699475941385:profile/FROMFILE"}
                """#
            let imported = try await harness.post("/v2/accounts/import", #"{"token_file": \#(token), "label": "Kiro GitHub"}"#, headers: adminHeaders)
            #expect(imported.status == 201, "\(imported.body)")
            #expect((imported.json?["candidate"] as? [String: Any])?["kind"] as? String == "kiro")
            #expect(!imported.body.contains("aorKIROSOCIALREFRESH000000001"))
            let served = try await harness.post(
                "/v1/messages", claudeRequest("hi"), headers: [("x-api-key", ProxyHarness.apiKey), ("x-q2api-account", "kiro-github")])
            #expect(served.status == 200, "\(served.body)")
            #expect(harness.simulator.refreshesByClient["kiro"] == 1)
            let saved = try String(contentsOfFile: harness.stateDirectory + "/kiro-github.jsonl", encoding: .utf8)
            #expect(saved.contains(#""kind":"kiro""#))
        }
    }

    @Test("the import route refuses bad input in the admin API's error shape and writes nothing")
    func adminRouteRefusals() async throws {
        let options = SimulatorOptions(refreshTokens: ["sim-refresh"])
        try await withProxy(simulator: options, extraYAML: "admin_keys: [\"\(adminKey)\"]") { harness in
            func error(_ reply: ProxyHarness.Reply) -> String? { (reply.json?["error"] as? [String: Any])?["type"] as? String }
            let refused = try await harness.post(
                "/v2/accounts/import", #"{"token_file": \#(kiroIDEToken), "client_file": \#(kiroIDEClient)}"#, headers: adminHeaders)
            #expect(refused.status == 422)
            #expect(error(refused) == "invalid_credentials")
            #expect(!refused.body.contains("aorIMPORTREFRESH1111111111"))

            let noClient = try await harness.post("/v2/accounts/import", #"{"token_file": \#(kiroIDEToken)}"#, headers: adminHeaders)
            #expect(noClient.status == 400)
            let noClientMessage = (noClient.json?["error"] as? [String: Any])?["message"] as? String ?? ""
            #expect(noClientMessage.contains("client_file"))

            let corrupt = try await harness.post("/v2/accounts/import", #"{"token_file": "{not json"}"#, headers: adminHeaders)
            #expect(corrupt.status == 400)
            #expect(error(corrupt) == "invalid_request")

            let noToken = try await harness.post("/v2/accounts/import", #"{"token_file": {"accessToken": "x"}}"#, headers: adminHeaders)
            #expect(noToken.status == 400)

            let accounts = ((try? FileManager.default.contentsOfDirectory(atPath: harness.stateDirectory)) ?? []).filter { $0.hasSuffix(".jsonl") }
            #expect(accounts.allSatisfy { $0 == "sim.jsonl" })
        }
    }

    @Test("credentials imported into the state directory of a running server (as q2api import does) serve a request")
    func importIntoRunningServer() async throws {
        let options = SimulatorOptions(refreshTokens: ["sim-refresh", "aorIMPORTREFRESH1111111111"], rotateRefreshTokens: true)
        var reload = ReloadOptions()
        reload.reloadOnSignal = false
        reload.pollInterval = .milliseconds(100)
        reload.settle = .milliseconds(20)
        reload.environment = [:]
        try await withProxy(simulator: options, extraYAML: "admin_keys: [\"\(adminKey)\"]", reload: reload) { harness in
            let home = FileManager.default.temporaryDirectory.appendingPathComponent("q2api-import-home-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: home + "/.aws/sso/cache", withIntermediateDirectories: true)
            try kiroIDEToken.write(toFile: home + "/.aws/sso/cache/kiro-auth-token.json", atomically: true, encoding: .utf8)
            try kiroIDEClient.write(
                toFile: home + "/.aws/sso/cache/e87895ae36d9539303a0bcd27feb465a60aeb433.json", atomically: true, encoding: .utf8)
            let candidates = try CredentialSource.kiroIDE.read(in: SourceDirectories(environment: ["HOME": home]))

            let http = try UpstreamHTTPClient(settings: .init(connectTimeout: .seconds(5), readTimeout: .seconds(10), proxy: nil))
            let oidc = OIDCClient(http: http)
            let logger = Logger(label: "test")
            let simulatorURL = harness.simulatorURL
            let importer = CredentialImporter(
                store: AccountStateStore(directory: harness.stateDirectory),
                existing: ExistingAccounts(stateDirectory: harness.stateDirectory, config: nil),
                refresher: { credentials throws(TokenRefreshError) in
                    do {
                        let grant = try await oidc.refresh(
                            endpoint: simulatorURL, clientID: credentials.clientID, clientSecret: credentials.clientSecret,
                            refreshToken: credentials.refreshToken, logger: logger)
                        return RefreshedToken(accessToken: grant.accessToken, expiresIn: .seconds(grant.expiresIn), refreshToken: grant.refreshToken)
                    } catch {
                        throw TokenRefreshError(isPermanent: true, message: "\(error)")
                    }
                }, logger: logger)
            let outcomes = await importer.run(importer.plan(candidates))
            try await http.shutdown()
            #expect(outcomes == [.imported(accountID: "kiro-ide")])

            // The server finds the new state file by itself (no admin call) and the account serves.
            var served = 0
            for _ in 0..<100 where served != 200 {
                served = try await harness.post(
                    "/v1/messages", claudeRequest("hi"), headers: [("x-api-key", ProxyHarness.apiKey), ("x-q2api-account", "kiro-ide")]
                ).status
                if served != 200 { try await Task.sleep(for: .milliseconds(100)) }
            }
            // The import's refresh rotated the seed (the simulator refuses it from then on): serving proves the server
            // continued from the rotated token the import wrote.
            #expect(served == 200)
        }
    }

    @Test("two imports of the same token file at once make one account: the second is recognised, not refreshed with a spent token")
    func concurrentImports() async throws {
        let options = SimulatorOptions(refreshTokens: ["sim-refresh", "aorIMPORTREFRESH1111111111"], rotateRefreshTokens: true)
        try await withProxy(simulator: options, extraYAML: "admin_keys: [\"\(adminKey)\"]") { harness in
            let body = #"{"token_file": \#(kiroIDEToken), "client_file": \#(kiroIDEClient), "label": "Kiro laptop"}"#
            async let first = harness.post("/v2/accounts/import", body, headers: adminHeaders)
            async let second = harness.post("/v2/accounts/import", body, headers: adminHeaders)
            let replies = try await [first, second]
            #expect(replies.map(\.status).sorted() == [200, 201], "\(replies.map(\.body))")
            #expect(Set(replies.compactMap { $0.json?["status"] as? String }) == ["imported", "already_present"])
            #expect(replies.allSatisfy { $0.json?["account_id"] as? String == "kiro-laptop" })
            #expect(harness.simulator.refreshCount == 1)
            let files = ((try? FileManager.default.contentsOfDirectory(atPath: harness.stateDirectory)) ?? []).filter { $0.hasSuffix(".jsonl") }
            #expect(Set(files) == ["kiro-laptop.jsonl"])
        }
    }

    @Test("a server that reads an imported account before its token record continues from the rotated token once the record is there")
    func accountReadBeforeItsToken() async throws {
        // The race a crash or an old writer can still cause (a reader sees a torn last line): the account record
        // alone, whose seed the import's refresh already spent, then the token record.
        let options = SimulatorOptions(refreshTokens: ["sim-refresh", "aorTORNSEED0000000000001"], rotateRefreshTokens: true)
        var reload = ReloadOptions()
        reload.reloadOnSignal = false
        reload.pollInterval = .milliseconds(50)
        reload.settle = .milliseconds(20)
        reload.environment = [:]
        try await withProxy(simulator: options, extraYAML: "admin_keys: [\"\(adminKey)\"]", reload: reload) { harness in
            // The import's validating refresh, by hand: the simulator rotates the seed and refuses it from now on.
            let http = try UpstreamHTTPClient(settings: .init(connectTimeout: .seconds(5), readTimeout: .seconds(10), proxy: nil))
            let grant = try await OIDCClient(http: http).refresh(
                endpoint: harness.simulatorURL, clientID: "TORNCLIENT", clientSecret: "TORNSECRET", refreshToken: "aorTORNSEED0000000000001",
                logger: Logger(label: "test"))
            try await http.shutdown()
            let rotated = try #require(grant.refreshToken)
            #expect(rotated != "aorTORNSEED0000000000001")

            // Another process's writes: the account record first.
            let writer = AccountStateStore(directory: harness.stateDirectory)
            try writer.appendAccount(
                accountID: "torn", label: "torn", clientID: Secret("TORNCLIENT"), clientSecret: Secret("TORNSECRET"),
                refreshToken: Secret("aorTORNSEED0000000000001"))
            func account() async throws -> [String: Any]? {
                let list = try await harness.get("/v2/accounts", headers: adminHeaders)
                return (list.json?["accounts"] as? [[String: Any]])?.first { $0["id"] as? String == "torn" }
            }
            var seen: [String: Any]?
            for _ in 0..<250 where seen == nil {
                seen = try await account()
                if seen == nil { try await Task.sleep(for: .milliseconds(20)) }
            }
            #expect(seen?["token_valid"] as? Bool == false, "the server took the account in before its token record")

            // Then the token record.
            try writer.appendToken(
                accountID: "torn", refreshToken: Secret(rotated), accessToken: Secret(grant.accessToken),
                expiresAt: Date().addingTimeInterval(Double(grant.expiresIn)), source: RefreshTokenFingerprint.of("aorTORNSEED0000000000001"))
            var restored = false
            for _ in 0..<250 where !restored {
                restored = try await account()?["token_valid"] as? Bool == true
                if !restored { try await Task.sleep(for: .milliseconds(20)) }
            }
            #expect(restored, "the saved access token is restored for an account the server already knew")

            // A refresh now must use the rotated token: the spent seed would be refused (refresh_failed).
            let refreshed = try await harness.post("/v2/accounts/torn/refresh", "", headers: adminHeaders)
            #expect(refreshed.status == 200, "\(refreshed.body)")
            let served = try await harness.post(
                "/v1/messages", claudeRequest("hi"), headers: [("x-api-key", ProxyHarness.apiKey), ("x-q2api-account", "torn")])
            #expect(served.status == 200, "\(served.body)")
            let latest = AccountStateStore.load(directory: harness.stateDirectory)["torn"]?.token?.refreshToken.value
            #expect(latest != nil && latest != rotated && latest != "aorTORNSEED0000000000001")
        }
    }
}
