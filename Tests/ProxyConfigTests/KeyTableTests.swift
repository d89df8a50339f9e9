import Foundation
import ProxyConfig
import Testing

/// The key tables are the one list of what `q2api.yaml` accepts. These tests walk them (through
/// ``ProxyConfig/keySets``), so a key that is listed but not read, or read into the wrong place, or refused
/// without a suggestion, fails here rather than in a user's file.
@Suite("Key tables")
struct KeyTableTests {
    // MARK: - The tables

    @Test("the mappings with fixed keys, in document order")
    func mappings() {
        #expect(
            ProxyConfig.keySets.map(\.path) == [
                "", "listeners[]", "api_keys[]", "api_keys[].limits", "upstream", "models", "balancing", "refresh", "limits",
                "log", "accounts[]", "shard", "reload", "responses",
            ])
        #expect(
            ProxyConfig.keySets.first { $0.path == "api_keys[]" }?.keys == ["name", "key", "key_file", "models", "limits", "enabled"])
        #expect(
            ProxyConfig.keySets.first { $0.path == "log" }?.keys == ["level", "format"])
        #expect(
            ProxyConfig.keySets.first { $0.path == "accounts[]" }?.keys == [
                "id", "label", "kind", "client_id", "client_id_file", "client_secret", "client_secret_file", "refresh_token",
                "refresh_token_file", "profile_arn", "enabled", "weight", "tier", "region", "endpoint", "proxy", "shard",
            ])
    }

    @Test("no table lists a key twice", arguments: ProxyConfig.keySets)
    func uniqueNames(set: ConfigKeySet) {
        #expect(Set(set.keys).count == set.keys.count, "\(set.path): \(set.keys)")
    }

    // MARK: - Every key is read

    @Test("every listed key has a sample below, and every sample names a listed key")
    func samplesCoverTheTables() {
        let listed = Set(Self.leafPaths)
        let sampled = Set(Self.samples.map(\.path))
        #expect(listed.subtracting(sampled).sorted() == [], "listed keys without a sample")
        #expect(sampled.subtracting(listed).sorted() == [], "samples for keys no table lists")
        #expect(sampled.count == Self.samples.count, "a key sampled twice")
    }

    @Test("every listed key is read into the configuration", arguments: KeyTableTests.samples)
    func keyIsRead(sample: KeySample) throws {
        let yaml = sample.yaml ?? Self.yaml(setting: sample.path, to: sample.value)
        let config = try load(yaml, files: sample.files)
        #expect(sample.expect(config), "\(yaml)")
        // The expectation must not hold without the key, or it proves nothing. `version` has one valid value, the
        // default; the next test shows it is read.
        if sample.path != "version" {
            let baseline = try load(Self.baseline(for: sample.path))
            #expect(!sample.expect(baseline), "the expectation for \(sample.path) holds without it")
        }
    }

    @Test("every listed key checks its value", arguments: KeyTableTests.leafPaths)
    func keyIsChecked(path: String) {
        // No key of the file takes a mapping of `x: 1` (aliases need a known model), so each must report it.
        let yaml = Self.yaml(setting: path, to: "{x: 1}")
        let errors = loadErrors(yaml)
        let errorPath = path.replacingOccurrences(of: "[]", with: "[0]")
        #expect(
            errors.contains { $0.keyPath == errorPath || $0.keyPath.hasPrefix(errorPath + ".") },
            "\(yaml)\n\(errors.map(\.description).joined(separator: "\n"))")
    }

    @Test("a file with every key set to something other than its default loads exactly")
    func everyKeyRoundTrips() throws {
        let yaml = """
            version: 1
            listeners:
              - address: 0.0.0.0:9001
                open: true
            api_keys: [k1, k2]
            admin_keys: [a1]
            admin_open_on_loopback: true
            metrics_keys: [m1]
            console: false
            upstream:
              endpoint: https://q.eu-central-1.amazonaws.com/
              oidc_endpoint: https://oidc.eu-central-1.amazonaws.com
              proxy: http://proxy.internal:3128
              connect_timeout: 3s
              read_timeout: 90s
              template: q.json
            models:
              default: claude-haiku-4.5
              unknown: reject
              available: [claude-haiku-4.5, claude-opus-4.5]
              aliases: {fast: Claude-Haiku-4.5}
              discover: false
            balancing: {strategy: weighted, retries: 5, max_errors: 7, error_window: 2m, cooldown: 3s, max_cooldown: 4m, affinity_ttl: 0s}
            refresh: {before_expiry: 2m, jitter: 5s}
            state_dir: st
            limits: {max_body: 1MiB, context_tokens: 1000, body_timeout: 5s}
            log: {level: debug, format: json}
            accounts:
              - id: a
                label: Account A
                client_id: x
                client_secret: y
                refresh_token: z
                profile_arn: arn:aws:codewhisperer:us-east-1:1:profile/X
                enabled: false
                weight: 3
                tier: 2
                region: eu-west-1
                endpoint: https://q.example/
                proxy: http://p.example:1
                shard: 2
              - id: b
                client_id_file: secrets/id
                client_secret_file: secrets/secret
                refresh_token_file: secrets/token
            shard: {index: 1, count: 3}
            reload: {settle: 250ms}
            responses: {store: false, retention: 2h, max_file_size: 1MiB, max_size: 8MiB}
            """
        let config = try load(
            yaml,
            files: [
                "/etc/q2api/q.json": "{}", "/etc/q2api/secrets/id": "file-id\n",
                "/etc/q2api/secrets/secret": "file-secret", "/etc/q2api/secrets/token": " file-token ",
            ])

        var expected = ProxyConfig(
            sourcePath: configPath,
            listeners: [ProxyConfig.Listener(address: ListenAddress(host: "0.0.0.0", port: 9001), open: true)],
            apiKeys: [.init(plain: Secret("k1")), .init(plain: Secret("k2"))],
            adminKeys: [Secret("a1")],
            console: false,
            upstream: ProxyConfig.Upstream(
                endpoint: URL(string: "https://q.eu-central-1.amazonaws.com/")!,
                oidcEndpoint: URL(string: "https://oidc.eu-central-1.amazonaws.com")!,
                proxy: URL(string: "http://proxy.internal:3128"),
                connectTimeout: .seconds(3),
                readTimeout: .seconds(90),
                templatePath: "/etc/q2api/q.json"
            ),
            models: ProxyConfig.Models(
                defaultModel: "claude-haiku-4.5", unknown: .reject, available: ["claude-haiku-4.5", "claude-opus-4.5"],
                aliases: ["fast": "claude-haiku-4.5"]),
            balancing: ProxyConfig.Balancing(
                strategy: .weighted, retries: 5, maxErrors: 7, errorWindow: .seconds(120), cooldown: .seconds(3),
                maxCooldown: .seconds(240), affinityTTL: .zero),
            refresh: ProxyConfig.Refresh(beforeExpiry: .seconds(120), jitter: .seconds(5)),
            stateDirectory: "/etc/q2api/st",
            limits: ProxyConfig.Limits(maxBody: 1 << 20, contextTokens: 1000, bodyTimeout: .seconds(5)),
            log: ProxyConfig.Log(level: .debug, format: .json),
            accounts: [
                ProxyConfig.Account(
                    id: "a", label: "Account A", clientID: Secret("x"), clientSecret: Secret("y"),
                    refreshToken: Secret("z"), profileARN: "arn:aws:codewhisperer:us-east-1:1:profile/X",
                    enabled: false, weight: 3, tier: 2, region: "eu-west-1", endpoint: URL(string: "https://q.example/"),
                    proxy: URL(string: "http://p.example:1"), shard: 2),
                ProxyConfig.Account(
                    id: "b", clientID: Secret("file-id"), clientSecret: Secret("file-secret"),
                    refreshToken: Secret("file-token")),
            ],
            templateSource: TemplateSource(
                path: "/etc/q2api/q.json", text: "{}", configFile: configPath, line: 16, column: 3)
        )
        expected.adminOpenOnLoopback = true
        expected.metricsKeys = [Secret("m1")]
        expected.models.discover = false
        expected.shard = ProxyConfig.Shard(index: 1, count: 3)
        expected.reload = ProxyConfig.Reload(settle: .milliseconds(250))
        expected.responses = ProxyConfig.Responses(
            store: false, retention: .seconds(7200), maxFileSize: 1 << 20, maxSize: 8 << 20)
        #expect(config == expected)

        // Nothing was left at its default: each section differs from an empty file's.
        let defaults = try load("version: 1")
        #expect(config.listeners != defaults.listeners)
        #expect(config.upstream != defaults.upstream)
        #expect(config.models != defaults.models)
        #expect(config.balancing != defaults.balancing)
        #expect(config.refresh != defaults.refresh)
        #expect(config.limits != defaults.limits)
        #expect(config.log != defaults.log)
        #expect(config.shard != defaults.shard)
        #expect(config.reload != defaults.reload)
        #expect(config.responses != defaults.responses)
    }

    // MARK: - Unknown keys

    @Test("a misspelt key is refused in every mapping, with the key it resembles and the table's keys", arguments: ProxyConfig.keySets)
    func unknownKeySuggested(set: ConfigKeySet) throws {
        for key in set.keys {
            let typo = key + String(key.last!)
            let yaml = try #require(Self.yaml(in: set.path, adding: "\(typo): 1"), "no sample document for \(set.path)")
            let errors = loadErrors(yaml)
            let error = try #require(errors.first { $0.message.hasPrefix("unknown key") }, "\(yaml)\n\(errors)")
            let prefix = set.path.replacingOccurrences(of: "[]", with: "[0]")
            #expect(error.keyPath == (prefix.isEmpty ? typo : "\(prefix).\(typo)"))
            #expect(
                error.message
                    == "unknown key '\(typo)'; did you mean '\(key)'? Allowed keys: \(set.keys.joined(separator: ", "))"
            )
            #expect(error.line > 0 && error.column > 0)
        }
    }

    // MARK: - Order of problems at one place

    @Test("a missing required key is reported before other problems at the same place")
    func requiredKeysFirst() throws {
        let yaml = """
            accounts:
              - label: [x]
                id: a
                client_id: x
                refresh_token: y
            """
        let errors = loadErrors(yaml)
        #expect(
            errors.map(\.description) == [
                "\(configPath):2:5: accounts[0]: missing required key 'client_secret' (or 'client_secret_file' to read it from a file)",
                "\(configPath):2:5: accounts[0].label: must be a string, not a list",
            ])
    }

    @Test("a listener without a valid address still has its other keys checked")
    func listenerKeysCheckedWithoutAddress() {
        let errors = loadErrors("listeners:\n  - open: maybe\n    address: nonsense\n  - open: 1\n")
        #expect(
            errors.map { "\($0.line):\($0.column) \($0.keyPath): \($0.message)" } == [
                "2:5 listeners[0].open: must be true or false",
                "3:5 listeners[0].address: 'nonsense' has no port; write host:port, for example 127.0.0.1:8080",
                "4:5 listeners[1]: missing required key 'address' (for example address: 127.0.0.1:8080)",
                "4:5 listeners[1].open: must be true or false",
            ])
    }

    // MARK: - Samples

    /// Every key that holds a value rather than a mapping of listed keys: `console`, `listeners[].open`,
    /// `models.aliases`, `accounts[].client_id_file`.
    static let leafPaths: [String] = {
        let sets = ProxyConfig.keySets
        let nested = Set(sets.map(\.path))
        return sets.flatMap { set in
            set.keys.map { set.path.isEmpty ? $0 : "\(set.path).\($0)" }
        }.filter { !nested.contains($0) && !nested.contains($0 + "[]") }
    }()

    /// A value for a key, and what it must do to the configuration.
    struct KeySample: Sendable, CustomTestStringConvertible {
        var path: String
        var value: String
        /// The whole document, when setting the key alone is not enough.
        var yaml: String?
        var files: [String: String] = [:]
        var expect: @Sendable (ProxyConfig) -> Bool

        init(
            _ path: String, _ value: String, yaml: String? = nil, files: [String: String] = [:],
            _ expect: @escaping @Sendable (ProxyConfig) -> Bool
        ) {
            self.path = path
            self.value = value
            self.yaml = yaml
            self.files = files
            self.expect = expect
        }

        var testDescription: String { self.path }
    }

    static let samples: [KeySample] = [
        KeySample("version", "1") { $0.version == 1 },
        KeySample("api_keys[].name", "alice") { $0.apiKeys.map(\.name) == ["alice"] },
        KeySample("api_keys[].key", "sk-other") { $0.apiKeys.map(\.key) == [Secret("sk-other")] },
        KeySample("api_keys[].key_file", "key.txt", files: ["/etc/q2api/key.txt": "sk-file\n"]) {
            $0.apiKeys.map(\.key) == [Secret("sk-file")]
        },
        KeySample("api_keys[].models", "[claude-haiku-4.5]") { $0.apiKeys.map(\.models) == [["claude-haiku-4.5"]] },
        KeySample("api_keys[].enabled", "false") { $0.apiKeys.map(\.enabled) == [false] },
        KeySample("api_keys[].limits.requests_per_minute", "7") { $0.apiKeys.map(\.limits.requestsPerMinute) == [7] },
        KeySample("api_keys[].limits.concurrent_streams", "2") { $0.apiKeys.map(\.limits.concurrentStreams) == [2] },
        KeySample("api_keys[].limits.tokens_per_day", "1000") { $0.apiKeys.map(\.limits.tokensPerDay) == [1000] },
        KeySample("admin_keys", "[a1]") { $0.adminKeys == [Secret("a1")] },
        KeySample("admin_open_on_loopback", "true") { $0.adminOpenOnLoopback },
        KeySample("metrics_keys", "[m1]") { $0.metricsKeys == [Secret("m1")] },
        KeySample("console", "false") { !$0.console },
        KeySample("state_dir", "/var/q") { $0.stateDirectory == "/var/q" },
        KeySample("listeners[].address", "127.0.0.1:9000") { $0.listeners.map(\.address.port) == [9000] },
        KeySample("listeners[].open", "true") { $0.listeners.map(\.open) == [true] },
        KeySample("upstream.endpoint", "https://q.example/") { $0.upstream.endpoint.absoluteString == "https://q.example/" },
        KeySample("upstream.oidc_endpoint", "https://oidc.example") {
            $0.upstream.oidcEndpoint.absoluteString == "https://oidc.example"
        },
        KeySample("upstream.kiro_auth_endpoint", "https://kiro.example") {
            $0.upstream.kiroAuthEndpoint?.absoluteString == "https://kiro.example"
        },
        KeySample("upstream.proxy", "http://proxy.local:3128") {
            $0.upstream.proxy?.absoluteString == "http://proxy.local:3128"
        },
        KeySample("upstream.connect_timeout", "3s") { $0.upstream.connectTimeout == .seconds(3) },
        KeySample("upstream.read_timeout", "90s") { $0.upstream.readTimeout == .seconds(90) },
        KeySample("upstream.template", "q.json", files: ["/etc/q2api/q.json": "{}"]) {
            $0.upstream.templatePath == "/etc/q2api/q.json" && $0.templateSource?.text == "{}"
        },
        KeySample("models.default", "claude-haiku-4.5") { $0.models.defaultModel == "claude-haiku-4.5" },
        KeySample("models.unknown", "reject") { $0.models.unknown == .reject },
        KeySample("models.available", "[claude-sonnet-4.5, extra]") {
            $0.models.available == ["claude-sonnet-4.5", "extra"]
        },
        KeySample("models.aliases", "{fast: claude-haiku-4.5}") { $0.models.aliases == ["fast": "claude-haiku-4.5"] },
        KeySample("models.discover", "false") { !$0.models.discover },
        KeySample("balancing.strategy", "weighted") { $0.balancing.strategy == .weighted },
        KeySample("balancing.retries", "5") { $0.balancing.retries == 5 },
        KeySample("balancing.max_errors", "7") { $0.balancing.maxErrors == 7 },
        KeySample("balancing.error_window", "2m") { $0.balancing.errorWindow == .seconds(120) },
        KeySample("balancing.cooldown", "3s") { $0.balancing.cooldown == .seconds(3) },
        KeySample("balancing.max_cooldown", "4m") { $0.balancing.maxCooldown == .seconds(240) },
        KeySample("balancing.affinity_ttl", "0s") { $0.balancing.affinityTTL == .zero },
        KeySample("refresh.before_expiry", "2m") { $0.refresh.beforeExpiry == .seconds(120) },
        KeySample("refresh.jitter", "5s") { $0.refresh.jitter == .seconds(5) },
        KeySample("limits.max_body", "1MiB") { $0.limits.maxBody == 1 << 20 },
        KeySample("limits.context_tokens", "1000") { $0.limits.contextTokens == 1000 },
        KeySample("limits.body_timeout", "5s") { $0.limits.bodyTimeout == .seconds(5) },
        KeySample("log.level", "debug") { $0.log.level == .debug },
        KeySample("log.format", "json") { $0.log.format == .json },
        KeySample("accounts[].id", "b") { $0.accounts.map(\.id) == ["b"] },
        KeySample("accounts[].label", "Main") { $0.accounts.map(\.label) == ["Main"] },
        KeySample("accounts[].kind", "kiro", yaml: "accounts: [{id: k, kind: kiro, refresh_token: r}]") {
            $0.accounts.map(\.kind) == [.kiro]
        },
        KeySample("accounts[].client_id", "other") { $0.accounts.map(\.clientID) == [Secret("other")] },
        KeySample("accounts[].client_id_file", "id.txt", files: ["/etc/q2api/id.txt": "file-id\n"]) {
            $0.accounts.map(\.clientID) == [Secret("file-id")]
        },
        KeySample("accounts[].client_secret", "other") { $0.accounts.map(\.clientSecret) == [Secret("other")] },
        KeySample("accounts[].client_secret_file", "secret.txt", files: ["/etc/q2api/secret.txt": "file-secret"]) {
            $0.accounts.map(\.clientSecret) == [Secret("file-secret")]
        },
        KeySample("accounts[].refresh_token", "other") { $0.accounts.map(\.refreshToken) == [Secret("other")] },
        KeySample("accounts[].refresh_token_file", "token.txt", files: ["/etc/q2api/token.txt": "file-token"]) {
            $0.accounts.map(\.refreshToken) == [Secret("file-token")]
        },
        KeySample("accounts[].profile_arn", "arn:aws:x") { $0.accounts.map(\.profileARN) == ["arn:aws:x"] },
        KeySample("accounts[].enabled", "false") { $0.accounts.map(\.enabled) == [false] },
        KeySample("accounts[].weight", "3") { $0.accounts.map(\.weight) == [3] },
        KeySample("accounts[].tier", "2") { $0.accounts.map(\.tier) == [2] },
        KeySample("accounts[].region", "eu-west-1") { $0.accounts.map(\.region) == ["eu-west-1"] },
        KeySample("accounts[].endpoint", "https://q.example/") {
            $0.accounts.map(\.endpoint) == [URL(string: "https://q.example/")]
        },
        KeySample("accounts[].proxy", "http://p.example:1") {
            $0.accounts.map(\.proxy) == [URL(string: "http://p.example:1")]
        },
        KeySample("accounts[].shard", "0") { $0.accounts.map(\.shard) == [0] },
        // An index is only valid below the count.
        KeySample("shard.index", "1", yaml: "shard: {index: 1, count: 2}") { $0.shard.index == 1 },
        KeySample("shard.count", "2") { $0.shard.count == 2 },
        KeySample("reload.settle", "250ms") { $0.reload.settle == .milliseconds(250) },
        KeySample("responses.store", "false") { !$0.responses.store },
        KeySample("responses.retention", "2h") { $0.responses.retention == .seconds(7200) },
        KeySample("responses.max_file_size", "1MiB") { $0.responses.maxFileSize == 1 << 20 },
        KeySample("responses.max_size", "8MiB") { $0.responses.maxSize == 8 << 20 },
    ]

    // MARK: - Documents

    /// The one key the `api_keys[]` documents hold.
    static let apiKeyLines = ["name: a", "key: sk-a"]

    /// The credentials of the one account the `accounts[]` documents hold.
    static let accountLines = ["id: a", "client_id: cid", "client_secret: csecret", "refresh_token: rtoken"]

    /// A document setting one key (a path from ``leafPaths``) to `value`, with whatever the key's mapping needs.
    static func yaml(setting path: String, to value: String) -> String {
        let parts = path.split(separator: ".", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { return "\(path): \(value)" }
        let (section, key) = (parts[0], parts[1])
        switch section {
        case "listeners[]":
            return key == "address"
                ? "listeners: [{address: \(value)}]" : "listeners: [{address: 127.0.0.1:1, \(key): \(value)}]"
        case "api_keys[]" where key.hasPrefix("limits."):
            return "api_keys:\n  - " + (Self.apiKeyLines + ["limits: {\(key.dropFirst(7)): \(value)}"]).joined(separator: "\n    ")
        case "api_keys[]":
            let replaced = key.hasSuffix("_file") ? String(key.dropLast(5)) : key
            var lines = Self.apiKeyLines.filter { !$0.hasPrefix("\(replaced):") }
            lines.append("\(key): \(value)")
            return "api_keys:\n  - " + lines.joined(separator: "\n    ")
        case "accounts[]":
            // `key_file` replaces `key`; a key the account already has takes the new value.
            let replaced = key.hasSuffix("_file") ? String(key.dropLast(5)) : key
            var lines = Self.accountLines.filter { !$0.hasPrefix("\(replaced):") }
            lines.append("\(key): \(value)")
            return "accounts:\n  - " + lines.joined(separator: "\n    ")
        default:
            return "\(section): {\(key): \(value)}"
        }
    }

    /// A document whose mapping at `path` (a ``ConfigKeySet/path``) holds `entry` besides what it needs.
    static func yaml(in path: String, adding entry: String) -> String? {
        switch path {
        case "": return entry
        case "listeners[]": return "listeners: [{address: 127.0.0.1:1, \(entry)}]"
        case "api_keys[]": return "api_keys:\n  - " + (Self.apiKeyLines + [entry]).joined(separator: "\n    ")
        case "api_keys[].limits": return "api_keys:\n  - " + (Self.apiKeyLines + ["limits: {\(entry)}"]).joined(separator: "\n    ")
        case "accounts[]": return "accounts:\n  - " + (Self.accountLines + [entry]).joined(separator: "\n    ")
        default: return path.contains(".") || path.contains("[") ? nil : "\(path): {\(entry)}"
        }
    }

    /// The document a sample for `path` is compared with: the same mapping without the key.
    static func baseline(for path: String) -> String {
        if path.hasPrefix("listeners[].") { return "listeners: [{address: 127.0.0.1:1}]" }
        if path.hasPrefix("api_keys[].") { return "api_keys:\n  - " + Self.apiKeyLines.joined(separator: "\n    ") }
        if path.hasPrefix("accounts[].") { return "accounts:\n  - " + Self.accountLines.joined(separator: "\n    ") }
        return "version: 1"
    }
}
