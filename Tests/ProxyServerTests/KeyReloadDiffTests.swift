import ProxyConfig
import ProxyServer
import Testing

/// What a reload says about `api_keys`: keys by name, never by value.
@Suite("Reload diff of API keys")
struct KeyReloadDiffTests {
    @Test("added, removed and changed keys are named; their values never appear")
    func byName() {
        var old = ProxyConfig()
        old.apiKeys = [
            .init(name: "alice", key: Secret("sk-alice")), .init(name: "intern", key: Secret("sk-intern")),
            .init(plain: Secret("sk-plain")),
        ]
        var new = old
        new.apiKeys[1].limits.requestsPerMinute = 20
        new.apiKeys.remove(at: 0)
        new.apiKeys.append(.init(name: "bob", key: Secret("sk-bob")))
        let diff = ConfigDiff(from: old, to: new)
        #expect(diff.description == "+1 api key (bob), -1 api key (alice), api key intern changed")
        #expect(!diff.description.contains("sk-"))

        var rotated = old
        rotated.apiKeys[0].key = Secret("sk-alice-2")
        #expect(ConfigDiff(from: old, to: rotated).description == "api key alice changed")
        #expect(ConfigDiff(from: old, to: old).isEmpty)
    }
}
