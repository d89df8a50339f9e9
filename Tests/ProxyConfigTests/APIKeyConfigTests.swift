import Foundation
import ProxyConfig
import ProxyModels
import Testing

/// `api_keys` entries as plain strings or as objects with a name, models and limits.
@Suite("API keys as objects")
struct APIKeyConfigTests {
    @Test("a plain string key is named by its SHA-256, whatever its place in the list")
    func plainKeyName() throws {
        let config = try load("api_keys: [k1, k2]")
        let reordered = try load("api_keys: [k2, k1]")
        // SHA-256("k1") = 6ab9f1eb…, SHA-256("k2") = 015f7e6b… (as `sha256sum` prints them)
        #expect(config.apiKeys.map(\.name) == ["key-6ab9f1eb", "key-015f7e6b"])
        #expect(Set(config.apiKeys.map(\.name)) == Set(reordered.apiKeys.map(\.name)))
        #expect(config.apiKeys.allSatisfy { $0.models == nil && $0.limits.isEmpty && $0.enabled })
    }

    @Test("objects: name, key, key_file, ${ENV}, models, limits and enabled are read")
    func objectForm() throws {
        let yaml = """
            models:
              available: [claude-sonnet-4.5, claude-haiku-4.5]
              aliases: {fast: claude-haiku-4.5}
              discover: false
            api_keys:
              - plain-key
              - name: alice
                key: "${ALICE_KEY}"
              - name: intern
                key_file: secrets/intern.key
                models: [fast, claude-sonnet-4.5-thinking]
                limits: {requests_per_minute: 10, concurrent_streams: 2, tokens_per_day: 200_000}
              - name: gone
                key: k-gone
                enabled: false
            """
        let config = try load(
            yaml, environment: ["ALICE_KEY": "alice-secret"], files: ["/etc/q2api/secrets/intern.key": "intern-secret\n"])
        #expect(config.apiKeys.count == 4)
        let alice = try #require(config.apiKeys.first { $0.name == "alice" })
        #expect(alice.key.value == "alice-secret" && alice.models == nil && alice.limits.isEmpty && alice.enabled)
        let intern = try #require(config.apiKeys.first { $0.name == "intern" })
        #expect(intern.key.value == "intern-secret")
        #expect(intern.models == ["fast", "claude-sonnet-4.5-thinking"])
        #expect(intern.limits == ProxyConfig.KeyLimits(requestsPerMinute: 10, concurrentStreams: 2, tokensPerDay: 200_000))
        #expect(config.apiKeys.first { $0.name == "gone" }?.enabled == false)
    }

    @Test(
        "every mistake is reported at its file:line:column",
        arguments: [
            // (yaml, line, column, key path, part of the message)
            ("api_keys:\n  - key: k", 2, 5, "api_keys[0]", "missing required key 'name'"),
            ("api_keys:\n  - name: a", 2, 5, "api_keys[0]", "missing required key 'key'"),
            ("api_keys:\n  - name: .hidden\n    key: k", 2, 5, "api_keys[0].name", "is not a valid key name"),
            ("api_keys:\n  - name: admin\n    key: k", 2, 5, "api_keys[0].name", "'admin' is reserved"),
            (
                "api_keys:\n  - name: a\n    key: k\n  - name: a\n    key: k2", 4, 5, "api_keys[1].name",
                "duplicate key name 'a' (first used at line 2)"
            ),
            ("api_keys:\n  - k\n  - name: b\n    key: k", 4, 5, "api_keys[1].key", "duplicates the key of api_keys[0]"),
            (
                "api_keys:\n  - name: a\n    key: k\n    limits: {requests_per_minute: 0}", 4, 14, "api_keys[0].limits.requests_per_minute",
                "must be an integer >= 1"
            ),
            (
                "api_keys:\n  - name: a\n    key: k\n    limits: {tokens_per_dya: 5}", 4, 14, "api_keys[0].limits.tokens_per_dya",
                "did you mean 'tokens_per_day'?"
            ),
            ("api_keys:\n  - name: a\n    key: k\n    modles: [x]", 4, 5, "api_keys[0].modles", "did you mean 'models'?"),
            ("api_keys:\n  - name: a\n    key: k\n    models: []", 4, 5, "api_keys[0].models", "must name at least one model"),
            ("api_keys:\n  - name: a\n    key: k\n    enabled: maybe", 4, 5, "api_keys[0].enabled", "must be true or false"),
            ("api_keys:\n  - name: a\n    key: k\n    key_file: f", 4, 5, "api_keys[0].key_file", "give either key or key_file, not both"),
            (
                "models: {discover: false}\napi_keys:\n  - name: a\n    key: k\n    models: [claude-sonet-4.5]", 5, 14,
                "api_keys[0].models[0]", "model 'claude-sonet-4.5' is not in models.available or models.aliases"
            ),
        ])
    func errors(yaml: String, line: Int, column: Int, path: String, message: String) throws {
        let errors = loadErrors(yaml)
        let error = try #require(errors.first { $0.keyPath == path }, "\(errors.map(\.description))")
        #expect(error.file == configPath)
        #expect((error.line, error.column) == (line, column), "\(error)")
        #expect(error.message.contains(message), "\(error)")
        // Never the key's value.
        #expect(!errors.map(\.description).joined().contains("k2"))
    }

    @Test("allowlist names may be aliases, dated names or -thinking variants")
    func allowlistResolution() throws {
        let yaml = """
            models: {available: [claude-sonnet-4.5], aliases: {smart: claude-sonnet-4.5}, discover: false}
            api_keys:
              - {name: a, key: k, models: [smart, claude-sonnet-4.5-thinking, claude-sonnet-4-5-20250929]}
            """
        #expect(try load(yaml).apiKeys.first?.models?.count == 3)
    }

    @Test("check -v and /v2/config show names and limits, never keys")
    func redaction() throws {
        let yaml = """
            api_keys:
              - sk-plain-secret
              - name: intern
                key: sk-intern-secret
                models: [claude-sonnet-4.5]
                limits: {requests_per_minute: 10}
                enabled: false
            """
        let config = try load(yaml)
        let summary = config.redactedSummary()
        #expect(summary.contains("api_keys: 2 configured"))
        #expect(summary.contains("  intern: models claude-sonnet-4.5; 10 requests/min; disabled"))
        #expect(summary.contains("  key-"))
        let json = String(decoding: config.redactedJSON.jsonBytes, as: UTF8.self)
        #expect(json.contains("\"name\":\"intern\"") && json.contains("\"requests_per_minute\":10"))
        for text in [summary, json] {
            #expect(!text.contains("sk-plain-secret") && !text.contains("sk-intern-secret"))
        }
    }
}
