import ProxyConfig
import Testing

@Suite("Error reporting")
struct ErrorReportingTests {
    @Test("the description has file, line, column, key path and message")
    func descriptionShape() throws {
        let yaml = """
            accounts:
              - id: main
                client_id: a
                client_secret: b
                refresh_token: c
                weight: 0
            """
        let error = try loadError(yaml)
        #expect(error.file == configPath)
        #expect(error.line == 6)
        #expect(error.column == 5)
        #expect(error.keyPath == "accounts[0].weight")
        #expect(error.message == "must be an integer >= 1")
        #expect(error.description == "/etc/q2api/q2api.yaml:6:5: accounts[0].weight: must be an integer >= 1")
        let bare = ConfigError(
            file: "q2api.yaml", line: 0, column: 0, keyPath: "", message: "cannot read configuration file")
        #expect(bare.description == "q2api.yaml: cannot read configuration file")
    }

    @Test(
        "unknown keys at every level, with position and suggestion",
        arguments: [
            // (yaml, line, column, key path, suggestion or nil)
            ("listners: []", 1, 1, "listners", "listeners"),
            ("console: true\napi_key: []", 2, 1, "api_key", "api_keys"),
            ("listeners:\n  - adress: 127.0.0.1:1", 2, 5, "listeners[0].adress", "address"),
            ("upstream:\n  endpont: https://x.example/", 2, 3, "upstream.endpont", "endpoint"),
            ("upstream: {conect_timeout: 1s}", 1, 12, "upstream.conect_timeout", "connect_timeout"),
            ("models:\n  defualt: claude-sonnet-4", 2, 3, "models.defualt", "default"),
            ("balancing:\n  stratgy: random", 2, 3, "balancing.stratgy", "strategy"),
            ("refresh:\n  jiter: 1s", 2, 3, "refresh.jiter", "jitter"),
            ("limits:\n  max_bdy: 1MiB", 2, 3, "limits.max_bdy", "max_body"),
            ("log:\n  levl: info", 2, 3, "log.levl", "level"),
            (
                "accounts:\n  - id: a\n    client_id: x\n    client_secret: y\n    refresh_token: z\n    wieght: 2", 6,
                5,
                "accounts[0].wieght", "weight"
            ),
            (
                "accounts:\n  - id: a\n    client_id: x\n    client_secret: y\n    refresh_tokn_file: z", 5, 5,
                "accounts[0].refresh_tokn_file", "refresh_token_file"
            ),
            ("telemetry: true", 1, 1, "telemetry", nil),
        ] as [(String, Int, Int, String, String?)]
    )
    func unknownKeys(yaml: String, line: Int, column: Int, keyPath: String, suggestion: String?) throws {
        let errors = loadErrors(yaml)
        let error = try #require(errors.first { $0.message.hasPrefix("unknown key") }, "\(errors)")
        #expect(error.line == line)
        #expect(error.column == column)
        #expect(error.keyPath == keyPath)
        let key = keyPath.split(separator: ".").last!.split(separator: "]").last!
        #expect(error.message.hasPrefix("unknown key '\(key)'"))
        if let suggestion {
            #expect(error.message.contains("did you mean '\(suggestion)'?"), "\(error)")
        } else {
            #expect(!error.message.contains("did you mean"), "\(error)")
        }
        #expect(error.message.contains("Allowed keys: "))
    }

    @Test("the unknown-key message lists the allowed keys")
    func allowedKeysListed() throws {
        let error = try loadError("log: {levl: info}")
        #expect(error.message == "unknown key 'levl'; did you mean 'level'? Allowed keys: level, format")
        #expect(
            error.description
                == "/etc/q2api/q2api.yaml:1:7: log.levl: unknown key 'levl'; did you mean 'level'? Allowed keys: level, format"
        )
    }

    @Test(
        "type errors",
        arguments: [
            ("console: maybe", "console", "must be true or false"),
            ("console: [true]", "console", "must be true or false, not a list"),
            ("listeners: 127.0.0.1:8080", "listeners", "must be a list, not a scalar"),
            ("listeners: [127.0.0.1:8080]", "listeners[0]", "must be a mapping (key: value pairs), not a scalar"),
            ("api_keys: key", "api_keys", "must be a list, not a scalar"),
            ("api_keys: [[a]]", "api_keys[0]", "must be a string, not a list"),
            ("api_keys: [~]", "api_keys[0]", "must be a string, not null (write \"\" for an empty string)"),
            ("api_keys: ['']", "api_keys[0]", "must not be empty"),
            ("upstream: https://q.example/", "upstream", "must be a mapping (key: value pairs), not a scalar"),
            ("upstream: {endpoint: [a]}", "upstream.endpoint", "must be a string, not a list"),
            (
                "upstream: {endpoint: ftp://q.example/}", "upstream.endpoint",
                "scheme 'ftp' is not supported; write an http(s) URL such as https://q.us-east-1.amazonaws.com/"
            ),
            (
                "upstream: {proxy: 'proxy:3128'}", "upstream.proxy",
                "scheme 'proxy' is not supported; write \"\" or a proxy URL such as http://proxy.local:3128"
            ),
            ("version: one", "version", "must be an integer >= 0"),
            ("version: 2", "version", "unsupported version 2; this q2api reads version 1"),
            ("balancing: {retries: -1}", "balancing.retries", "must be an integer >= 0"),
            ("balancing: {retries: 2.5}", "balancing.retries", "must be an integer >= 0"),
            ("balancing: {max_errors: 0}", "balancing.max_errors", "must be an integer >= 1"),
            (
                "balancing: {strategy: rnd}", "balancing.strategy",
                "'rnd' is not one of random, round_robin, least_inflight, weighted"
            ),
            (
                "balancing: {strategy: roundrobin}", "balancing.strategy",
                "'roundrobin' is not one of random, round_robin, least_inflight, weighted; did you mean 'round_robin'?"
            ),
            (
                "log: {level: verbose}", "log.level",
                "'verbose' is not one of trace, debug, info, notice, warning, error, critical"
            ),
            ("log: {format: yaml}", "log.format", "'yaml' is not one of text, json"),
            ("models: {unknown: allow}", "models.unknown", "'allow' is not one of default, reject"),
            ("models: {available: claude}", "models.available", "must be a list, not a scalar"),
            ("models: {available: []}", "models.available", "must list at least one upstream model id"),
            ("models: {aliases: [a, b]}", "models.aliases", "must be a mapping (key: value pairs), not a list"),
            ("state_dir: ''", "state_dir", "must not be empty"),
            ("accounts: {id: a}", "accounts", "must be a list, not a mapping"),
            ("[1, 2]", "", "the top level must be a mapping of keys such as listeners, upstream and accounts"),
            ("just text", "", "the top level must be a mapping of keys such as listeners, upstream and accounts"),
        ]
    )
    func typeErrors(yaml: String, keyPath: String, message: String) throws {
        let error = try loadError(yaml)
        #expect(error.keyPath == keyPath)
        #expect(error.message == message)
        #expect(error.line == 1)
    }

    @Test("a YAML syntax error carries Yams' line and column")
    func syntaxErrorPosition() throws {
        let yaml = """
            console: true
            upstream:
              endpoint: [https://q.example/
            log: {level: info}
            """
        let error = try loadError(yaml)
        #expect(error.file == configPath)
        #expect(error.keyPath == "")
        #expect(error.message.hasPrefix("invalid YAML: "))
        #expect(error.line == 4)
        #expect(error.column == 4)

        let tab = try loadError("log:\n\tlevel: info\n")
        #expect(tab.line == 2)
        #expect(tab.column == 1)
        #expect(tab.message.contains("tabs cannot indent YAML"), "\(tab)")
    }

    @Test("a duplicate key is an error at its first occurrence")
    func duplicateKey() throws {
        let error = try loadError("console: true\nlog: {level: info}\nconsole: false\n")
        #expect(error.line == 1)
        #expect(error.column == 1)
        #expect(error.message == "duplicate key 'console' in one mapping")
    }

    @Test("all problems are reported at once, in document order")
    func multipleErrors() throws {
        let yaml = """
            listners: []
            console: maybe
            upstream:
              connect_timeout: 15
              read_timeout: 5 minutes
            balancing: {strategy: fastest, retries: -2}
            limits: {max_body: 20}
            accounts:
              - id: a
                client_id: x
                client_secret: y
                refresh_token: z
                weight: 0
              - id: a
                client_id: x
                refresh_token: ${MISSING_TOKEN}
            """
        let errors = loadErrors(yaml)
        let summary = errors.map { "\($0.line):\($0.column) \($0.keyPath)" }
        #expect(
            summary == [
                "1:1 listners",
                "2:1 console",
                "4:3 upstream.connect_timeout",
                "5:3 upstream.read_timeout",
                "6:13 balancing.strategy",
                "6:32 balancing.retries",
                "7:10 limits.max_body",
                "13:5 accounts[0].weight",
                "14:5 accounts[1].id",
                "14:5 accounts[1]",
                "16:5 accounts[1].refresh_token",
            ],
            "\(errors.map(\.description).joined(separator: "\n"))"
        )
        #expect(errors[2].message == "'15' has no unit; add a unit: ms, s, m or h (e.g. 15s)")
        #expect(errors[8].message == "duplicate account id 'a' (first used at line 9)")
        #expect(
            errors[9].message == "missing required key 'client_secret' (or 'client_secret_file' to read it from a file)"
        )
        #expect(errors[10].message.contains("'MISSING_TOKEN' is not set"))

        do {
            _ = try load(yaml)
            Issue.record("expected errors")
        } catch {
            #expect(error.description.split(separator: "\n").count == errors.count)
        }
    }
}
