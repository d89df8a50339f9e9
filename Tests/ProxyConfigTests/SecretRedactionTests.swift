import ProxyConfig
import Testing

@Suite("Secrets stay secret")
struct SecretRedactionTests {
    static let secrets = [
        "SK-API-aaaa1111", "SK-ADMIN-bbbb2222", "CID-cccc3333", "CSECRET-dddd4444", "RTOKEN-eeee5555",
        "FILETOKEN-ffff6666", "PROXYPW-gggg7777",
    ]

    static let yaml = """
        listeners: [{address: '0.0.0.0:8080'}]
        api_keys: ["${API_KEY}"]
        admin_keys: [SK-ADMIN-bbbb2222]
        upstream: {proxy: "http://user:PROXYPW-gggg7777@proxy.local:3128"}
        accounts:
          - id: main
            client_id: CID-cccc3333
            client_secret: ${CLIENT_SECRET}
            refresh_token: RTOKEN-eeee5555
          - id: second
            client_id: CID-cccc3333
            client_secret: CSECRET-dddd4444
            refresh_token_file: /secrets/token
            proxy: http://user:PROXYPW-gggg7777@proxy.local:3128
        """
    static let environment = ["API_KEY": "SK-API-aaaa1111", "CLIENT_SECRET": "CSECRET-dddd4444"]
    static let files = ["/secrets/token": "FILETOKEN-ffff6666\n"]

    func expectNoSecret(in text: String, sourceLocation: SourceLocation = #_sourceLocation) {
        for secret in Self.secrets {
            #expect(!text.contains(secret), "\(secret) leaked in:\n\(text)", sourceLocation: sourceLocation)
        }
    }

    @Test("Secret prints as <redacted> everywhere")
    func secretDescription() {
        let secret = Secret("RTOKEN-eeee5555")
        #expect(secret.description == "<redacted>")
        #expect(secret.debugDescription == "<redacted>")
        #expect("\(secret)" == "<redacted>")
        #expect(secret.value == "RTOKEN-eeee5555")
        var dumped = ""
        dump(secret, to: &dumped)
        expectNoSecret(in: dumped)
        #expect(secret.constantTimeEquals("RTOKEN-eeee5555"))
        #expect(!secret.constantTimeEquals("RTOKEN-eeee555"))
        #expect(!secret.constantTimeEquals("RTOKEN-eeee5556"))
    }

    @Test("the summary and the config's own descriptions contain no secret")
    func summary() throws {
        let config = try load(Self.yaml, environment: Self.environment, files: Self.files)
        #expect(config.accounts[1].refreshToken.value == "FILETOKEN-ffff6666")
        let summary = config.redactedSummary()
        expectNoSecret(in: summary)
        #expect(summary.contains("api_keys: 1 configured"))
        #expect(summary.contains("proxy: http://<redacted>@proxy.local:3128"))
        #expect(summary.contains("- main: enabled, weight 1, credentials set"))
        expectNoSecret(in: String(describing: config))
        expectNoSecret(in: String(reflecting: config))
        var dumped = ""
        dump(config, to: &dumped)
        expectNoSecret(in: dumped)
    }

    @Test("errors about secret fields contain no secret")
    func errors() throws {
        // Every account and top-level key is made invalid in a way that could tempt a message to quote it.
        let yaml = """
            listeners: [{address: '0.0.0.0:8080'}]
            api_keys: ["SK-API-aaaa1111", "SK-API-aaaa1111", "${API_KEY"]
            admin_keys: [SK-ADMIN-bbbb2222, {k: SK-ADMIN-bbbb2222}]
            upstream: {proxy: "ftp://user:PROXYPW-gggg7777@proxy.local:3128", endpoint: "user:PROXYPW-gggg7777@"}
            accounts:
              - id: main
                client_id: CID-cccc3333
                client_id_file: /secrets/token
                client_secret: "CSECRET-dddd4444${"
                refresh_token: [RTOKEN-eeee5555]
                proxy: "http://user:PROXYPW-gggg7777@"
              - id: main
                client_id: "${CID:-CID-cccc3333}"
                client_secret: "${MISSING}CSECRET-dddd4444"
                refresh_token: RTOKEN-eeee5555
                weight: RTOKEN-eeee5555
                enabled: CSECRET-dddd4444
            """
        let errors = loadErrors(yaml, environment: Self.environment, files: Self.files)
        #expect(errors.count >= 10, "\(errors)")
        expectNoSecret(in: errors.map(\.description).joined(separator: "\n"))
        expectNoSecret(in: ConfigErrors(errors).description)
    }

    @Test("a YAML syntax error does not quote the offending line")
    func syntaxError() throws {
        let error = try loadError("api_keys: [SK-API-aaaa1111\nconsole: true\n")
        expectNoSecret(in: error.description)
    }
}
