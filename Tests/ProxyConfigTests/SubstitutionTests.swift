import ProxyConfig
import Testing

@Suite("Environment substitution and *_file secrets")
struct SubstitutionTests {
    @Test("${VAR} is replaced in any scalar, including typed ones")
    func present() throws {
        let yaml = """
            api_keys: ["${KEY}", "prefix-${KEY}-suffix", "${A}${B}"]
            listeners: [{address: "${HOST}:${PORT}"}]
            console: ${CONSOLE}
            balancing: {retries: "${RETRIES}", cooldown: "${COOLDOWN}"}
            """
        let config = try load(
            yaml,
            environment: [
                "KEY": "k1", "A": "x", "B": "y", "HOST": "127.0.0.2", "PORT": "9000", "CONSOLE": "false",
                "RETRIES": "4", "COOLDOWN": "2m",
            ]
        )
        #expect(config.apiKeys.map(\.key.value) == ["k1", "prefix-k1-suffix", "xy"])
        #expect(config.listeners.first?.address == ListenAddress(host: "127.0.0.2", port: 9000))
        #expect(!config.console)
        #expect(config.balancing.retries == 4)
        #expect(config.balancing.cooldown == .seconds(120))
    }

    @Test("${VAR:-default} uses the default when VAR is unset or empty")
    func defaults() throws {
        let yaml = "log: {level: '${LEVEL:-debug}'}\nstate_dir: ${DIR:-/tmp/q2api}\napi_keys: ['${K:-}x']"
        let unset = try load(yaml)
        #expect(unset.log.level == .debug)
        #expect(unset.stateDirectory == "/tmp/q2api")
        #expect(unset.apiKeys.map(\.key.value) == ["x"])
        let empty = try load(yaml, environment: ["LEVEL": "", "DIR": ""])
        #expect(empty.log.level == .debug)
        let set = try load(yaml, environment: ["LEVEL": "error", "DIR": "/srv/state", "K": "k"])
        #expect(set.log.level == .error)
        #expect(set.stateDirectory == "/srv/state")
        #expect(set.apiKeys.map(\.key.value) == ["kx"])
    }

    @Test("a missing variable without default is an error naming it")
    func missing() throws {
        let error = try loadError("console: true\napi_keys:\n  - ${Q2API_KEY}\n")
        #expect(error.line == 3)
        #expect(error.column == 5)
        #expect(error.keyPath == "api_keys[0]")
        #expect(
            error.message == "environment variable 'Q2API_KEY' is not set (use ${Q2API_KEY:-default} to give a default)"
        )
    }

    @Test("$${ is a literal ${, and a lone $ is kept")
    func escape() throws {
        let config = try load(
            #"api_keys: ["$${NOT_A_VAR}", "cost$5", "a$$b", "$${X}${X}"]"#,
            environment: ["NOT_A_VAR": "wrong", "X": "1"]
        )
        #expect(config.apiKeys.map(\.key.value) == ["${NOT_A_VAR}", "cost$5", "a$$b", "${X}1"])
    }

    @Test("malformed references are errors that do not quote the value")
    func malformed() throws {
        let unterminated = try loadError("api_keys: ['sk-${SECRET']")
        #expect(unterminated.message.hasPrefix("unterminated '${'"))
        #expect(!unterminated.description.contains("sk-"))
        let invalid = try loadError("api_keys: ['sk-live-abc${1BAD}']")
        #expect(invalid.message.hasPrefix("invalid variable reference"))
        #expect(!invalid.description.contains("sk-live-abc"))
        #expect(!invalid.description.contains("1BAD"))
    }

    @Test("substituted text is never parsed as YAML")
    func noReparse() throws {
        let config = try load(
            "accounts:\n" + accountYAML(id: "a", extra: "label: ${LABEL}"), environment: ["LABEL": "x: [1, {y"])
        #expect(config.accounts.first?.label == "x: [1, {y")
    }

    @Test("*_file reads the file, trimmed, resolving relative paths against the config's directory")
    func fileOK() throws {
        let yaml = """
            accounts:
              - id: a
                client_id_file: /run/secrets/id
                client_secret_file: secrets/secret
                refresh_token_file: ${TOKEN_FILE}
            """
        let config = try load(
            yaml,
            environment: ["TOKEN_FILE": "/run/secrets/token"],
            files: [
                "/run/secrets/id": "the-id",
                "/etc/q2api/secrets/secret": "\n  the-secret \r\n",
                "/run/secrets/token": "the-token\n",
            ]
        )
        let account = try #require(config.accounts.first)
        #expect(account.clientID.value == "the-id")
        #expect(account.clientSecret.value == "the-secret")
        #expect(account.refreshToken.value == "the-token")
    }

    @Test("a missing *_file is an error naming the path")
    func fileMissing() throws {
        let yaml = """
            accounts:
              - id: a
                client_id: x
                client_secret: y
                refresh_token_file: tokens/a.txt
            """
        let error = try loadError(yaml)
        #expect(error.line == 5)
        #expect(error.column == 5)
        #expect(error.keyPath == "accounts[0].refresh_token_file")
        #expect(error.message == "cannot read file '/etc/q2api/tokens/a.txt': no such file")
    }

    @Test("a reader error of another type still names only the path")
    func fileOtherError() throws {
        struct Leaky: Error, CustomStringConvertible { var description: String { "contents: hunter2" } }
        let yaml = "version: 1\naccounts:\n  - {id: a, client_id: x, client_secret: y, refresh_token_file: /t}"
        do {
            _ = try ProxyConfig.parse(yaml: yaml, path: "q.yaml", environment: [:], readFile: { _ in throw Leaky() })
            Issue.record("expected an error")
        } catch {
            #expect(error.description == "q.yaml:3:45: accounts[0].refresh_token_file: cannot read file '/t'")
            #expect(!error.description.contains("hunter2"))
        }
    }

    @Test("an empty *_file is an error")
    func fileEmpty() throws {
        let error = try loadError(
            "accounts:\n  - {id: a, client_id: x, client_secret: y, refresh_token_file: /t}",
            files: ["/t": " \n"]
        )
        #expect(error.message == "file '/t' is empty")
    }

    @Test("giving both key and key_file is an error; giving neither too")
    func fileBothOrNeither() throws {
        let yaml = """
            accounts:
              - id: a
                client_id: x
                client_id_file: /id
                client_secret: y
                refresh_token: z
              - id: b
                client_id: x
                client_secret: y
            """
        let errors = loadErrors(yaml, files: ["/id": "file-id"])
        #expect(errors.count == 2)
        #expect(
            errors[0].description
                == "/etc/q2api/q2api.yaml:4:5: accounts[0].client_id_file: give either client_id or client_id_file, not both"
        )
        #expect(errors[1].keyPath == "accounts[1]")
        #expect(errors[1].line == 7)
        #expect(
            errors[1].message == "missing required key 'refresh_token' (or 'refresh_token_file' to read it from a file)"
        )
    }

    @Test("the template file is read through readFile; a missing one is an error at upstream.template")
    func template() throws {
        let config = try load("upstream: {template: /t/q.mustache}", files: ["/t/q.mustache": "{{x}}"])
        #expect(config.templateSource?.text == "{{x}}")
        #expect(config.upstream.templatePath == "/t/q.mustache")
        #expect(try load("upstream: {template: ''}").templateSource == nil)

        let error = try loadError("upstream:\n  template: q.tmpl")
        #expect(
            error.description
                == "/etc/q2api/q2api.yaml:2:3: upstream.template: cannot read file '/etc/q2api/q.tmpl': no such file")
    }
}
