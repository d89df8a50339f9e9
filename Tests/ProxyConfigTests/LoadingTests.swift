import Foundation
import ProxyConfig
import Testing

@Suite("Loading")
struct LoadingTests {
    @Test("a file with only version: 1 gives every default")
    func emptyFileDefaults() throws {
        for text in ["version: 1", "version: 1\n# a comment\n", "---\nversion: 1\n", "version: 1\nlisteners: ~\n"] {
            let config = try load(text)
            #expect(config.sourcePath == configPath)
            #expect(config.version == 1)
            #expect(
                config.listeners == [
                    ProxyConfig.Listener(address: ListenAddress(host: "127.0.0.1", port: 8080), open: false)
                ])
            #expect(config.apiKeys.isEmpty)
            #expect(config.adminKeys.isEmpty)
            #expect(config.console)
            #expect(config.upstream.endpoint.absoluteString == "https://q.us-east-1.amazonaws.com/")
            #expect(config.upstream.oidcEndpoint.absoluteString == "https://oidc.us-east-1.amazonaws.com")
            #expect(config.upstream.proxy == nil)
            #expect(config.upstream.connectTimeout == .seconds(15))
            #expect(config.upstream.readTimeout == .seconds(300))
            #expect(config.upstream.templatePath == nil)
            #expect(config.templateSource == nil)
            #expect(config.models.defaultModel == "claude-sonnet-4.5")
            #expect(config.models.unknown == .useDefault)
            #expect(
                config.models.available == [
                    "claude-sonnet-4.5", "claude-sonnet-4", "claude-haiku-4.5", "claude-opus-4.5",
                ])
            #expect(config.models.aliases == ProxyConfig.Models.builtinAliases)
            #expect(
                config.balancing
                    == ProxyConfig.Balancing(
                        strategy: .random, retries: 2, maxErrors: 100, errorWindow: .seconds(600),
                        cooldown: .seconds(10), maxCooldown: .seconds(600), affinityTTL: .seconds(1800)))
            #expect(config.refresh == ProxyConfig.Refresh(beforeExpiry: .seconds(300), jitter: .seconds(30)))
            #expect(config.stateDirectory == "/etc/q2api/state")
            #expect(config.limits == ProxyConfig.Limits(maxBody: 20 * 1024 * 1024, contextTokens: 200_000))
            #expect(config.log == ProxyConfig.Log(level: .info, format: .text))
            #expect(config.accounts.isEmpty)
        }
    }

    @Test("the coded defaults equal an empty file's")
    func codedDefaultsMatch() throws {
        let loaded = try load("version: 1")
        let coded = ProxyConfig(sourcePath: configPath, stateDirectory: "/etc/q2api/state")
        #expect(loaded == coded)
    }

    @Test("every built-in alias targets an available model")
    func builtinAliasesAreServed() {
        for (name, target) in ProxyConfig.Models.builtinAliases {
            #expect(ProxyConfig.Models.builtinAvailable.contains(target), "\(name) -> \(target)")
        }
    }

    @Test("a full file sets every key")
    func fullFile() throws {
        let yaml = """
            version: 1
            listeners:
              - address: 127.0.0.1:8080
              - address: "[::]:9090"
                open: true
              - address: localhost:0
            api_keys: ["${Q2API_KEY}", literal-key]
            admin_keys:
              - admin-key-1
            console: false
            upstream:
              endpoint: https://q.eu-central-1.amazonaws.com/
              oidc_endpoint: https://oidc.eu-central-1.amazonaws.com
              proxy: http://proxy.internal:3128
              connect_timeout: 1500ms
              read_timeout: 2m
              template: templates/q.json
            models:
              default: claude-haiku-4.5
              unknown: reject
              available: [claude-sonnet-4.5, claude-haiku-4.5]
              aliases:
                gpt-4o: claude-sonnet-4.5
                gpt-4o-mini: Claude-Haiku-4.5
            balancing: {strategy: least_inflight, retries: 0, max_errors: 5, error_window: 1h, cooldown: 0s, max_cooldown: 5m, affinity_ttl: 0s}
            refresh: {before_expiry: 10m, jitter: 0s}
            state_dir: /var/lib/q2api
            limits: {max_body: 512KiB, context_tokens: 100_000}
            log: {level: debug, format: json}
            accounts:
              - id: main
                label: Main account
                client_id: ${Q_CLIENT_ID}
                client_secret: ${Q_CLIENT_SECRET}
                refresh_token_file: /run/secrets/q-refresh-token
                profile_arn: arn:aws:codewhisperer:us-east-1:123456789012:profile/ABC
                enabled: true
                weight: 3
                endpoint: https://q.us-west-2.amazonaws.com/
                proxy: http://user:pw@proxy2.internal:8080
              - id: spare.2
                client_id_file: secrets/spare-id
                client_secret: spare-secret
                refresh_token: spare-token
                enabled: false
                tier: 1
                region: eu-central-1
            """
        let config = try load(
            yaml,
            environment: [
                "Q2API_KEY": "env-api-key", "Q_CLIENT_ID": "env-client-id", "Q_CLIENT_SECRET": "env-client-secret",
            ],
            files: [
                "/etc/q2api/templates/q.json": "{\"template\": true}",
                "/run/secrets/q-refresh-token": "  file-refresh-token\n",
                "/etc/q2api/secrets/spare-id": "spare-id\n",
            ]
        )
        #expect(config.listeners.map(\.address.description) == ["127.0.0.1:8080", "[::]:9090", "localhost:0"])
        #expect(config.listeners.map(\.open) == [false, true, false])
        #expect(config.listeners.map(\.address.isLoopback) == [true, false, true])
        #expect(config.apiKeys.map(\.key.value) == ["env-api-key", "literal-key"])
        #expect(config.adminKeys == [Secret("admin-key-1")])
        #expect(!config.console)
        #expect(config.upstream.endpoint == URL(string: "https://q.eu-central-1.amazonaws.com/"))
        #expect(config.upstream.oidcEndpoint == URL(string: "https://oidc.eu-central-1.amazonaws.com"))
        #expect(config.upstream.proxy == URL(string: "http://proxy.internal:3128"))
        #expect(config.upstream.connectTimeout == .milliseconds(1500))
        #expect(config.upstream.readTimeout == .seconds(120))
        #expect(config.upstream.templatePath == "/etc/q2api/templates/q.json")
        let template = try #require(config.templateSource)
        #expect(template.path == "/etc/q2api/templates/q.json")
        #expect(template.text == "{\"template\": true}")
        #expect(template.configError("bad").description == "\(configPath):17:3: upstream.template: bad")
        #expect(config.models.defaultModel == "claude-haiku-4.5")
        #expect(config.models.unknown == .reject)
        #expect(config.models.available == ["claude-sonnet-4.5", "claude-haiku-4.5"])
        #expect(config.models.aliases == ["gpt-4o": "claude-sonnet-4.5", "gpt-4o-mini": "claude-haiku-4.5"])
        #expect(
            config.balancing
                == ProxyConfig.Balancing(
                    strategy: .leastInflight, retries: 0, maxErrors: 5, errorWindow: .seconds(3600), cooldown: .zero,
                    maxCooldown: .seconds(300), affinityTTL: .zero))
        #expect(config.refresh == ProxyConfig.Refresh(beforeExpiry: .seconds(600), jitter: .zero))
        #expect(config.stateDirectory == "/var/lib/q2api")
        #expect(config.limits == ProxyConfig.Limits(maxBody: 512 * 1024, contextTokens: 100_000))
        #expect(config.log == ProxyConfig.Log(level: .debug, format: .json))
        #expect(config.accounts.count == 2)
        let main = try #require(config.account(id: "main"))
        #expect(
            main
                == ProxyConfig.Account(
                    id: "main",
                    label: "Main account",
                    clientID: Secret("env-client-id"),
                    clientSecret: Secret("env-client-secret"),
                    refreshToken: Secret("file-refresh-token"),
                    profileARN: "arn:aws:codewhisperer:us-east-1:123456789012:profile/ABC",
                    enabled: true,
                    weight: 3,
                    endpoint: URL(string: "https://q.us-west-2.amazonaws.com/"),
                    proxy: URL(string: "http://user:pw@proxy2.internal:8080")
                )
        )
        let spare = try #require(config.account(id: "spare.2"))
        #expect(spare.label == "spare.2")
        #expect(spare.clientID.value == "spare-id")
        #expect(!spare.enabled)
        #expect(spare.weight == 1)
        #expect(spare.profileARN == nil && spare.endpoint == nil && spare.proxy == nil)
        #expect(spare.tier == 1 && spare.region == "eu-central-1")
        #expect(spare.effectiveEndpoint == URL(string: "https://q.eu-central-1.amazonaws.com/"))
        #expect(main.effectiveEndpoint == URL(string: "https://q.us-west-2.amazonaws.com/"))
    }

    @Test("aliases absent: the built-in ones, limited to available models")
    func builtinAliasesFollowAvailable() throws {
        let config = try load("models: {available: [claude-sonnet-4.5]}")
        #expect(!config.models.aliases.isEmpty)
        #expect(Set(config.models.aliases.values) == ["claude-sonnet-4.5"])
        #expect(config.models.aliases["claude-3-5-sonnet-20241022"] == "claude-sonnet-4.5")
        #expect(config.models.aliases["claude-haiku-4-5"] == nil)
    }

    @Test("an empty aliases map replaces the built-in one")
    func emptyAliases() throws {
        let config = try load("models: {aliases: {}}")
        #expect(config.models.aliases.isEmpty)
    }

    @Test("relative state_dir resolves against the file's directory")
    func relativePaths() throws {
        #expect(try load("state_dir: ./data/../state").stateDirectory == "/etc/q2api/data/../state")
        #expect(try load("state_dir: state").stateDirectory == "/etc/q2api/state")
        let bare = try ProxyConfig.parse(yaml: "version: 1", path: "q2api.yaml", environment: [:], readFile: FakeFiles().read)
        #expect(bare.stateDirectory == "state")
    }

    @Test("load reads the file through readFile; a missing file is an error naming it")
    func loadThroughReader() throws {
        let files = FakeFiles(files: ["/srv/q2api.yaml": "version: 1\nconsole: false\n"])
        let config = try ProxyConfig.load(path: "/srv/q2api.yaml", environment: [:], readFile: files.read)
        #expect(!config.console)
        #expect(config.stateDirectory == "/srv/state")

        #expect {
            try ProxyConfig.load(path: "/srv/missing.yaml", environment: [:], readFile: files.read)
        } throws: { error in
            (error as? ConfigErrors)?.description == "/srv/missing.yaml: cannot read configuration file: no such file"
        }
    }

    @Test("the default reader reads real files and explains failures")
    func defaultReader() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "proxyconfig-\(UInt64.random(in: 0...UInt64.max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("q2api.yaml")
        try "version: 1\nlog: {level: warning}\naccounts:\n  - {id: a, client_id: x, client_secret: y, refresh_token_file: token}\n"
            .write(to: file, atomically: true, encoding: .utf8)
        try "tok\n".write(to: directory.appendingPathComponent("token"), atomically: true, encoding: .utf8)

        let config = try ProxyConfig.load(path: file.path, environment: [:])
        #expect(config.log.level == .warning)
        #expect(config.accounts.first?.refreshToken.value == "tok")
        #expect(config.stateDirectory == directory.path + "/state")

        #expect(throws: ConfigFileReadError(reason: "no such file")) {
            try ProxyConfig.defaultReadFile(directory.appendingPathComponent("nope").path)
        }
        #expect(throws: ConfigFileReadError(reason: "is a directory")) {
            try ProxyConfig.defaultReadFile(directory.path)
        }
    }
}
