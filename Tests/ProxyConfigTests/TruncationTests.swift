import Foundation
import ProxyConfig
import Testing

/// Errors from parsing `yaml` exactly as given (no `version: 1` added).
private func rawErrors(_ yaml: String, sourceLocation: SourceLocation = #_sourceLocation) -> [ConfigError] {
    do {
        _ = try ProxyConfig.parse(yaml: yaml, path: configPath, environment: [:], readFile: FakeFiles().read)
        Issue.record("expected errors for:\n\(yaml)", sourceLocation: sourceLocation)
        return []
    } catch {
        return error.errors
    }
}

@Suite("Truncated and versionless files")
struct TruncationTests {
    @Test("an empty, blank or comment-only file is an error naming the file and saying it looks truncated")
    func emptyDocument() throws {
        for text in ["", "\n", "  \n\n", "# only a comment\n", "---\n", "~\n"] {
            let errors = rawErrors(text)
            #expect(errors.count == 1, "\(errors)")
            let error = try #require(errors.first)
            #expect(error.description.hasPrefix("\(configPath): "), "\(error)")
            #expect(error.message.contains("looks truncated"), "\(error)")
        }
    }

    @Test("version is required")
    func versionRequired() throws {
        let errors = rawErrors("listeners:\n  - address: 127.0.0.1:9000\nconsole: false\n")
        #expect(errors.map(\.keyPath) == ["version"])
        #expect(errors.first?.message.contains("missing required key 'version'") == true)
        #expect(rawErrors("version: 2\n").first?.message.contains("unsupported version 2") == true)
        #expect(rawErrors("version:\nconsole: false\n").map(\.keyPath) == ["version"])
    }

    @Test("a file that ends at a key with no value looks truncated: the error points at the key")
    func trailingKeyWithoutValue() throws {
        let cutAfterListeners = rawErrors("version: 1\nlisteners:")
        let listeners = try #require(cutAfterListeners.first { $0.message.contains("looks truncated") })
        #expect(listeners.keyPath == "listeners")
        #expect((listeners.line, listeners.column) == (2, 1))
        #expect(listeners.description.hasPrefix("\(configPath):2:1: listeners: "))

        let nested = rawErrors(
            "version: 1\nlisteners:\n  - address: 127.0.0.1:9000\naccounts:\n  - id: a\n    client_id: x\n    client_secret:\n")
        let secret = try #require(nested.first { $0.message.contains("looks truncated") })
        #expect(secret.keyPath == "accounts[0].client_secret")
        #expect((secret.line, secret.column) == (7, 5))

        let item = rawErrors("version: 1\napi_keys:\n  - sk-one\n  -\n")
        #expect(item.contains { $0.keyPath == "api_keys[1]" && $0.message.contains("looks truncated") }, "\(item)")
    }

    @Test("YAML that stops inside a flow collection, a quote or a key looks truncated")
    func unterminated() throws {
        let cases = [
            "version: 1\napi_keys: [\"sk-one\", \"sk-two\"",
            "version: 1\nlog: {level: info, format: te",
            "version: 1\nlisteners:\n  - address: \"127.0.0.1:90",
            "version: 1\nlisteners:\n  - address: 127.0.0.1:9000\naccou",
        ]
        for text in cases {
            let errors = rawErrors(text)
            #expect(errors.count == 1, "\(errors)")
            #expect(errors.first?.message.contains("looks truncated") == true, "\(text): \(errors)")
            #expect(errors.first?.description.hasPrefix(configPath + ":") == true)
        }
        // A syntax error in the middle of the file is not called truncated.
        let middle = rawErrors("version: 1\napi_keys: [\"a\"\nconsole: false\nlog: {level: info}\n")
        #expect(middle.count == 1)
        #expect(middle.first?.message.contains("looks truncated") == false, "\(middle)")
    }

    @Test("a value written out at the end is not truncation: [], ~, \"\"")
    func explicitEmptyValues() throws {
        for text in ["version: 1\naccounts: []\n", "version: 1\napi_keys: []", "version: 1\nadmin_keys: ~\n", "version: 1\nlog: {}\n"] {
            #expect(throws: Never.self, "\(text)") {
                try ProxyConfig.parse(yaml: text, path: configPath, environment: [:], readFile: FakeFiles().read)
            }
        }
    }

    @Test("no cut of a config inside a flow collection or after a key loads")
    func everyCut() throws {
        let full = """
            version: 1
            listeners:
              - address: 127.0.0.1:9000
            api_keys: ["sk-one", "sk-two"]
            log: {level: info, format: text}
            accounts:
              - id: a
                client_id: x
                client_secret: y
                refresh_token: z

            """
        var loaded = 0
        for length in 0..<full.utf8.count {
            let cut = String(decoding: full.utf8.prefix(length), as: UTF8.self)
            let result = Result { try ProxyConfig.parse(yaml: cut, path: configPath, environment: [:], readFile: FakeFiles().read) }
            guard case .success = result else { continue }
            loaded += 1
            // What still loads is cut between lines or inside a plain value; the reload's settle (two reads a
            // second apart) and guard rails (no listeners, accounts or api_keys by omission) cover those.
            let lastLine = cut.split(separator: "\n", omittingEmptySubsequences: false).last ?? ""
            #expect(!lastLine.contains("[") || lastLine.contains("]"), "cut at \(length): \(cut)")
            #expect(!lastLine.contains("{") || lastLine.contains("}"), "cut at \(length): \(cut)")
            #expect(!cut.trimmingCharacters(in: .whitespacesAndNewlines).hasSuffix(":"), "cut at \(length): \(cut)")
        }
        #expect(loaded < full.utf8.count / 2)
    }

    @Test("reload.settle is read; the default is one second")
    func settle() throws {
        #expect(try load("version: 1").reload.settle == .seconds(1))
        #expect(try load("reload: {settle: 250ms}").reload.settle == .milliseconds(250))
        #expect(try load("reload: {settle: 0s}").reload.settle == .zero)
        #expect(try loadError("reload: {setle: 1s}").message.contains("did you mean 'settle'"))
        #expect(try loadError("reload: {settle: 5}").keyPath == "reload.settle")
    }

    @Test("writtenKeys tells a list written out empty from a missing or empty key")
    func writtenKeys() {
        #expect(ProxyConfig.writtenKeys(yaml: "version: 1\naccounts: []\napi_keys: []\n") == ["version", "accounts", "api_keys"])
        #expect(ProxyConfig.writtenKeys(yaml: "version: 1\naccounts:\napi_keys: ~\n") == ["version"])
        #expect(ProxyConfig.writtenKeys(yaml: "") == [])
        #expect(ProxyConfig.writtenKeys(yaml: "[1, 2]") == [])
    }
}
