import ProxyConfig
import Testing

@Suite("Validation rules")
struct ValidationTests {
    @Test("no api_keys on a non-loopback listener is an error naming the listener")
    func openOnNonLoopback() throws {
        let yaml = """
            listeners:
              - address: 127.0.0.1:8080
              - address: 0.0.0.0:9000
            """
        let error = try loadError(yaml)
        #expect(error.line == 3)
        #expect(error.column == 5)
        #expect(error.keyPath == "listeners[1]")
        #expect(error.message.hasPrefix("listener 0.0.0.0:9000 is not a loopback address and api_keys is empty"))
        #expect(error.message.contains("open: true"))
    }

    @Test("open: true, api_keys, or loopback-only listeners make an empty whitelist acceptable")
    func openAllowed() throws {
        #expect(try load("listeners: [{address: '0.0.0.0:9000', open: true}]").listeners.first?.open == true)
        #expect(try load("api_keys: [k]\nlisteners: [{address: '0.0.0.0:9000'}]").apiKeys.count == 1)
        #expect(try load("listeners: [{address: '[::1]:9000'}, {address: 'localhost:1'}]").listeners.count == 2)
        #expect(try load("api_keys: []").apiKeys.isEmpty)
    }

    @Test("each exposed listener is named; an api_keys error does not add a second complaint")
    func openErrorsPerListener() throws {
        let errors = loadErrors(
            "listeners: [{address: '0.0.0.0:1'}, {address: '[::]:2'}, {address: '10.0.0.1:3', open: true}]")
        #expect(errors.map(\.keyPath) == ["listeners[0]", "listeners[1]"])
        #expect(errors[1].message.hasPrefix("listener [::]:2 "))

        let keyError = try loadError("api_keys: ['${NOPE}']\nlisteners: [{address: '0.0.0.0:1'}]")
        #expect(keyError.keyPath == "api_keys[0]")
    }

    @Test("an account's region must look like an AWS region, its tier must not be negative")
    func regionAndTier() throws {
        let account = "accounts: [{id: a, client_id: c, client_secret: s, refresh_token: r, "
        let region = try loadError(account + "region: 'US East'}]")
        #expect(region.keyPath == "accounts[0].region")
        #expect(region.message.contains("us-east-1"))
        let tier = try loadError(account + "tier: -1}]")
        #expect(tier.keyPath == "accounts[0].tier")
        #expect(try load(account + "region: us-gov-west-1, tier: 2}]").accounts[0].region == "us-gov-west-1")
    }

    @Test("listeners need at least one entry, an address, and distinct addresses")
    func listenerShape() throws {
        #expect(try loadError("listeners: []").message.hasPrefix("must list at least one listener"))
        let missing = try loadError("listeners:\n  - open: true")
        #expect(missing.keyPath == "listeners[0]")
        #expect(missing.message == "missing required key 'address' (for example address: 127.0.0.1:8080)")
        let duplicate = try loadError("listeners: [{address: '127.0.0.1:1'}, {address: '127.0.0.1:1'}]")
        #expect(duplicate.keyPath == "listeners[1].address")
        #expect(duplicate.message == "duplicate listener address 127.0.0.1:1 (also listeners[0])")
    }

    @Test("duplicate account ids are errors pointing at the second")
    func duplicateAccountIDs() throws {
        let yaml = "accounts:\n" + accountYAML(id: "main") + accountYAML(id: "other") + accountYAML(id: "main")
        let error = try loadError(yaml)
        #expect(error.keyPath == "accounts[2].id")
        #expect(error.line == 10)
        #expect(error.message == "duplicate account id 'main' (first used at line 2)")
    }

    @Test(
        "account ids must match [A-Za-z0-9_.-]{1,64}",
        arguments: ["", "has space", "slash/id", "..", String(repeating: "a", count: 65), "ünï"])
    func badAccountIDs(id: String) throws {
        let error = try loadError("accounts:\n" + accountYAML(id: "'\(id)'"))
        #expect(error.keyPath == "accounts[0].id")
        #expect(error.message.contains(id.isEmpty ? "must not be empty" : "is not a valid account id"))
    }

    @Test("an account without id is an error")
    func missingID() throws {
        let error = try loadError("accounts:\n  - client_id: a\n    client_secret: b\n    refresh_token: c")
        #expect(error.keyPath == "accounts[0]")
        #expect(error.message == "missing required key 'id'")
    }

    @Test("weight must be >= 1", arguments: ["0", "-3", "heavy"])
    func badWeight(weight: String) throws {
        let error = try loadError("accounts:\n" + accountYAML(id: "a", extra: "weight: \(weight)"))
        #expect(error.keyPath == "accounts[0].weight")
        #expect(error.line == 6)
        #expect(error.column == 5)
        #expect(error.message == "must be an integer >= 1")
    }

    @Test("profile_arn must be empty or an ARN; endpoint and proxy must be URLs")
    func accountFields() throws {
        let errors = loadErrors(
            "accounts:\n"
                + accountYAML(id: "a", extra: "profile_arn: profile/x\nendpoint: q.example\nproxy: socks5://p:1")
        )
        #expect(errors.map(\.keyPath) == ["accounts[0].profile_arn", "accounts[0].endpoint", "accounts[0].proxy"])
        let empty = try load("accounts:\n" + accountYAML(id: "a", extra: "profile_arn: ''\nendpoint: ''\nproxy: ''"))
        #expect(empty.accounts.first?.profileARN == nil)
        #expect(empty.accounts.first?.endpoint == nil)
    }

    @Test("an alias whose target is not available is an error at the alias")
    func aliasTargetNotAvailable() throws {
        let yaml = """
            models:
              available: [claude-sonnet-4.5, claude-haiku-4.5]
              aliases:
                gpt-4o: claude-sonnet-4.5
                gpt-4o-mini: claude-haiku-4
            """
        let error = try loadError(yaml)
        #expect(error.line == 5)
        #expect(error.column == 5)
        #expect(error.keyPath == "models.aliases.gpt-4o-mini")
        #expect(
            error.message
                == "target 'claude-haiku-4' is not in models.available (claude-sonnet-4.5, claude-haiku-4.5); did you mean 'claude-haiku-4.5'?"
        )
    }

    @Test("the default model must be available")
    func defaultNotAvailable() throws {
        let explicit = try loadError("models: {default: gpt-5}")
        #expect(explicit.keyPath == "models.default")
        #expect(explicit.message.hasPrefix("'gpt-5' is not in models.available"))

        let implicit = try loadError("models:\n  available: [claude-haiku-4.5]")
        #expect(implicit.keyPath == "models.available")
        #expect(implicit.message.hasPrefix("the default model 'claude-sonnet-4.5' is not in this list"))

        let fine = try load("models: {default: CLAUDE-HAIKU-4.5, available: [claude-haiku-4.5]}")
        #expect(fine.models.defaultModel == "claude-haiku-4.5")
    }

    @Test("available models and alias names must be unique, ignoring case")
    func modelDuplicates() throws {
        #expect(
            try loadError("models: {available: [claude-sonnet-4.5, Claude-Sonnet-4.5]}").message
                == "duplicate model 'Claude-Sonnet-4.5'")
        let alias = try loadError("models: {aliases: {gpt: claude-sonnet-4.5, GPT: claude-sonnet-4}}")
        #expect(alias.keyPath == "models.aliases.GPT")
        #expect(alias.message == "alias 'GPT' duplicates 'gpt' (names ignore case)")
    }

    @Test("alias names that are not plain words are quoted in the key path")
    func quotedAliasPath() throws {
        let error = try loadError("models: {aliases: {'my model': nope}}")
        #expect(error.keyPath == "models.aliases[\"my model\"]")
    }
}
