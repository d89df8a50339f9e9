import Foundation
import ProxyConfig
import ProxyModels
import Testing

/// `accounts[].kind`: what a `kind: kiro` account needs, what it refuses, and where its kind shows.
@Suite("Kiro account configuration")
struct KiroAccountConfigTests {
    @Test("a kiro account needs only a refresh token; profile_arn and region are optional")
    func minimalKiroAccount() throws {
        let config = try load(
            """
            accounts:
              - id: k
                kind: kiro
                refresh_token_file: kiro.txt
              - id: o
                client_id: c
                client_secret: s
                refresh_token: r
            """, files: ["/etc/q2api/kiro.txt": "aorAAAA-kiro\n"])
        #expect(config.accounts.map(\.kind) == [.kiro, .oidc])
        #expect(config.accounts[0].refreshToken == Secret("aorAAAA-kiro"))
        #expect(config.accounts[0].clientID.value.isEmpty && config.accounts[0].clientSecret.value.isEmpty)
        #expect(config.upstream.kiroAuthEndpoint == nil)
        #expect(config.upstream.kiroAuthEndpoint(region: nil).absoluteString == "https://prod.us-east-1.auth.desktop.kiro.dev")
        #expect(config.upstream.kiroAuthEndpoint(region: "eu-central-1").absoluteString == "https://prod.eu-central-1.auth.desktop.kiro.dev")
    }

    @Test("upstream.kiro_auth_endpoint overrides every kiro account's auth service")
    func authEndpointOverride() throws {
        let config = try load("upstream: {kiro_auth_endpoint: http://127.0.0.1:9/}\naccounts: [{id: k, kind: kiro, refresh_token: r}]")
        #expect(config.upstream.kiroAuthEndpoint(region: "eu-central-1").absoluteString == "http://127.0.0.1:9/")
    }

    @Test("client_id and client_secret are refused for a kiro account, each at its own line and column")
    func clientKeysRefused() {
        let errors = loadErrors(
            """
            accounts:
              - id: k
                kind: kiro
                client_id: c
                client_secret_file: s.txt
                refresh_token: r
            """, files: ["/etc/q2api/s.txt": "s"])
        #expect(errors.map { "\($0.line):\($0.column) \($0.keyPath)" } == ["4:5 accounts[0].client_id", "5:5 accounts[0].client_secret_file"])
        #expect(errors.allSatisfy { $0.message.hasPrefix("kind: kiro accounts take no client_") && $0.message.contains("use kind: oidc") })
    }

    @Test("an oidc account (the default) still requires client_id and client_secret")
    func oidcStillRequiresClient() {
        let errors = loadErrors("accounts:\n  - id: o\n    kind: oidc\n    refresh_token: r\n")
        #expect(
            errors.map(\.message) == [
                "missing required key 'client_id' (or 'client_id_file' to read it from a file)",
                "missing required key 'client_secret' (or 'client_secret_file' to read it from a file)",
            ])
    }

    @Test("an unknown kind is refused with a suggestion")
    func unknownKind() throws {
        // Without a valid kind the account is read as the default kind, so its missing client keys are reported too.
        let errors = loadErrors("accounts: [{id: k, kind: kiroo, refresh_token: r}]")
        let error = try #require(errors.first { $0.keyPath == "accounts[0].kind" })
        #expect(error.message == "'kiroo' is not one of oidc, kiro; did you mean 'kiro'?")
    }

    @Test("check -v and the redacted config show the kind, and a kiro account has no client credentials to show")
    func kindIsShown() throws {
        let config = try load(
            "accounts: [{id: k, kind: kiro, refresh_token: r, region: eu-central-1}, {id: o, client_id: c, client_secret: s, refresh_token: r}]")
        let summary = config.redactedSummary()
        #expect(summary.contains("  - k: kind kiro, enabled, weight 1, region eu-central-1, credentials set"))
        #expect(summary.contains("  - o: enabled, weight 1, credentials set"))
        let accounts = try #require(config.redactedJSON["accounts"]?.arrayValue)
        #expect(accounts[0]["kind"]?.stringValue == "kiro")
        #expect(accounts[0]["client_id"]?.isNull == true)
        #expect(accounts[1]["kind"]?.stringValue == "oidc")
        #expect(accounts[1]["client_id"]?.stringValue == "set")
        #expect(config.redactedJSON["upstream"]?["kiro_auth_endpoint"]?.isNull == true)
    }
}
