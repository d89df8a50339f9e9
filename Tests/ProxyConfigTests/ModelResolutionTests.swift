import ProxyConfig
import Testing

@Suite("Model resolution")
struct ModelResolutionTests {
    static let models = ProxyConfig.Models()

    @Test(
        "built-in table",
        arguments: [
            // client name, upstream id, thinking
            ("claude-sonnet-4.5", "claude-sonnet-4.5", false),
            ("CLAUDE-SONNET-4.5", "claude-sonnet-4.5", false),
            ("claude-sonnet-4-5-20250929", "claude-sonnet-4.5", false),
            ("claude-sonnet-4-5", "claude-sonnet-4.5", false),
            ("claude-sonnet-4-5-thinking", "claude-sonnet-4.5", true),
            ("claude-sonnet-4-5-20250929-thinking", "claude-sonnet-4.5", true),
            ("claude-sonnet-4-5-20991231", "claude-sonnet-4.5", false),
            ("claude-sonnet-4.5-thinking", "claude-sonnet-4.5", true),
            ("claude-sonnet-4-20250514", "claude-sonnet-4", false),
            ("claude-sonnet-4-0", "claude-sonnet-4", false),
            ("claude-sonnet-4", "claude-sonnet-4", false),
            ("claude-haiku-4-5-20251001", "claude-haiku-4.5", false),
            ("claude-haiku-4-5", "claude-haiku-4.5", false),
            ("claude-opus-4-5-20251101", "claude-opus-4.5", false),
            ("claude-opus-4-5", "claude-opus-4.5", false),
            ("claude-opus-4-1-20250805", "claude-opus-4.5", false),
            ("claude-3-5-sonnet-20241022", "claude-sonnet-4.5", false),
            ("claude-3-5-sonnet-latest", "claude-sonnet-4.5", false),
            ("claude-3-7-sonnet-20250219", "claude-sonnet-4.5", false),
            ("claude-3-7-sonnet-20250219-thinking", "claude-sonnet-4.5", true),
            ("claude-3-5-haiku-20241022", "claude-haiku-4.5", false),
            ("  claude-haiku-4.5 ", "claude-haiku-4.5", false),
        ]
    )
    func builtin(name: String, upstreamID: String, thinking: Bool) {
        #expect(Self.models.resolveModel(name) == .resolved(upstreamID: upstreamID, thinking: thinking))
    }

    @Test("unknown names go to the default model under unknown: default")
    func unknownDefault() {
        #expect(Self.models.resolveModel("gpt-4o") == .fallback(upstreamID: "claude-sonnet-4.5", thinking: false))
        #expect(
            Self.models.resolveModel("gpt-4o-thinking") == .fallback(upstreamID: "claude-sonnet-4.5", thinking: true))
        #expect(Self.models.resolveModel("") == .fallback(upstreamID: "claude-sonnet-4.5", thinking: false))
        #expect(Self.models.resolveModel("gpt-4o").upstreamID == "claude-sonnet-4.5")
    }

    @Test("unknown names are .unknown under unknown: reject")
    func unknownReject() throws {
        let config = try load("models: {unknown: reject, default: claude-haiku-4.5}")
        #expect(config.models.resolveModel("gpt-4o") == .unknown)
        #expect(config.models.resolveModel("gpt-4o").upstreamID == nil)
        #expect(
            config.models.resolveModel("claude-haiku-4-5-thinking")
                == .resolved(upstreamID: "claude-haiku-4.5", thinking: true))
    }

    @Test("file aliases replace the built-in ones and match ignoring case")
    func fileAliases() throws {
        let config = try load(
            "models:\n  unknown: reject\n  aliases: {GPT-4o: claude-opus-4.5, o1-20241217: claude-sonnet-4}")
        #expect(config.models.resolveModel("gpt-4o") == .resolved(upstreamID: "claude-opus-4.5", thinking: false))
        #expect(
            config.models.resolveModel("gpt-4o-thinking") == .resolved(upstreamID: "claude-opus-4.5", thinking: true))
        #expect(
            config.models.resolveModel("o1-20241217-thinking")
                == .resolved(upstreamID: "claude-sonnet-4", thinking: true))
        #expect(config.models.resolveModel("claude-sonnet-4-5-20250929") == .unknown)
        #expect(
            config.models.resolveModel("claude-opus-4.5") == .resolved(upstreamID: "claude-opus-4.5", thinking: false))
    }

    @Test("a date is only stripped when it is exactly -YYYYMMDD")
    func dateSuffixShape() {
        let models = ProxyConfig.Models(unknown: .reject)
        #expect(models.resolveModel("claude-sonnet-4-5-2025092") == .unknown)
        #expect(models.resolveModel("claude-sonnet-4-5_20250929") == .unknown)
        #expect(models.resolveModel("claude-sonnet-4-5-20250929x") == .unknown)
        #expect(models.resolveModel("-thinking") == .unknown)
    }

    @Test(
        "names of a known family that no table lists map to the closest model of that family",
        arguments: [
            ("claude-opus-5-5", "claude-opus-4.5"),
            ("claude-sonnet-5-5", "claude-sonnet-4.5"),
            ("claude-haiku-5-5", "claude-haiku-4.5"),
            ("claude-sonnet-4-1", "claude-sonnet-4"),
            ("claude-haiku-5-5-20261101", "claude-haiku-4.5"),
            ("claude-opus", "claude-opus-4.5"),
        ]
    )
    func families(name: String, upstreamID: String) {
        #expect(Self.models.resolveModel(name) == .resolved(upstreamID: upstreamID, thinking: false))
    }

    @Test("a family with no available model still falls back to the default")
    func familyMissing() throws {
        let models = ProxyConfig.Models(available: ["claude-sonnet-4.5"])
        #expect(models.resolveModel("claude-haiku-5-5") == .fallback(upstreamID: "claude-sonnet-4.5", thinking: false))
    }
}
