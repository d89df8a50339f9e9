import ProxyModels
import Testing
import Translation

/// Every dialect writes its text, reasoning and tool-argument deltas through a ``FrameTemplate`` rather than a JSON
/// value tree; a client must not be able to tell: the bytes are those of the frames ``ReplyStreamEncoder/encode(_:)``
/// returns, whatever the text holds.
@Suite("Stream bytes: the delta fast path writes exactly the frames' bytes")
struct StreamBytesTests {
    /// Texts that exercise JSON escaping and UTF-8, including the template's own marker.
    static let texts = [
        "Hello", "", "quote \" backslash \\ slash /", "line\nbreak\r\ttab", "control \u{01} \u{1F} \u{7F}", "你好 🙂 é",
        FrameTemplate.stringMarker, "{\"partial\": [1, 2", "data: [DONE]\n\n",
    ]

    static var reply: [ReplyEvent] {
        var events: [ReplyEvent] = [.blockStart(index: 0, block: .thinking)]
        events += texts.map { .thinkingDelta(index: 0, text: $0) }
        events += [.signatureDelta(index: 0, signature: "sig=="), .blockStop(index: 0), .blockStart(index: 1, block: .text)]
        events += texts.map { .textDelta(index: 1, text: $0) }
        events += [.blockStop(index: 1), .blockStart(index: 2, block: .text)]
        events += texts.map { .textDelta(index: 2, text: $0) }
        events += [.blockStop(index: 2), .blockStart(index: 3, block: .toolUse(id: "toolu_1", name: "Read"))]
        events += ["{\"path\":", " \"a\\\"b\"", "}"].map { .toolInputDelta(index: 3, json: $0) }
        events += [.blockStop(index: 3), .blockStart(index: 4, block: .toolUse(id: "toolu_2", name: "Grep"))]
        events += ["{}"].map { .toolInputDelta(index: 4, json: $0) }
        events += [.blockStop(index: 4), .finish(.init(stopReason: .toolUse, usage: .init(inputTokens: 12, outputTokens: 34)))]
        return events
    }

    static let header = ReplyHeader(id: "id_1", model: "claude-sonnet-4-5", created: 1_700_000_000, inputTokens: 12)

    /// The stream as frames rendered one by one, and as the encoder writes it.
    static func bytes(_ make: () -> some ReplyStreamEncoder) -> (frames: String, written: String) {
        var slow = make()
        var fast = make()
        var expected: [UInt8] = []
        var actual: [UInt8] = []
        for frame in slow.opening() { frame.write(into: &expected) }
        for frame in fast.opening() { frame.write(into: &actual) }
        for event in reply {
            for frame in slow.encode(event) { frame.write(into: &expected) }
            fast.write(event, into: &actual)
        }
        return (String(decoding: expected, as: UTF8.self), String(decoding: actual, as: UTF8.self))
    }

    static func request<D: Dialect>(_ dialect: D, _ json: String) throws -> D.Request {
        try dialect.decode(try JSONParser.parse(json))
    }

    @Test("Claude Messages")
    func claude() throws {
        let request = try Self.request(ClaudeDialect(), #"{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}"#)
        let (frames, written) = Self.bytes { ClaudeDialect().streamEncoder(for: request, header: Self.header) }
        #expect(written == frames)
        #expect(
            written.contains(#"data: {"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"quote \" backslash \\ slash /"}}"#))
    }

    @Test("OpenAI Chat Completions, with usage")
    func openAIChat() throws {
        let request = try Self.request(
            OpenAIChatDialect(), #"{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}"#)
        let (frames, written) = Self.bytes { OpenAIChatDialect().streamEncoder(for: request, header: Self.header) }
        #expect(written == frames)
        #expect(written.contains(#""delta":{"content":"\n\nHello"}"#), "a later text block starts with the separator")
        #expect(written.hasSuffix("data: [DONE]\n\n"))
    }

    @Test("OpenAI Responses, with a reasoning summary", arguments: [true, false])
    func responses(summary: Bool) throws {
        let reasoning = summary ? #","reasoning":{"effort":"high","summary":"auto"}"# : ""
        let request = try Self.request(ResponsesDialect(), #"{"model":"m","input":"hi""# + reasoning + "}")
        let (frames, written) = Self.bytes { ResponsesDialect().streamEncoder(for: request, header: Self.header) }
        #expect(written == frames)
        #expect(written.contains("event: response.output_text.delta"))
        #expect(written.contains("response.reasoning_summary_text.delta") == summary)
    }

    @Test("a template finds its holes and leaves everything else as rendered")
    func template() {
        let frame = StreamFrame.event("e", ["n": FrameTemplate.numberMarker, "s": .string(FrameTemplate.stringMarker), "k": "v"])
        let template = FrameTemplate(frame)
        #expect(template.holes == [.number, .string])
        var bytes: [UInt8] = []
        template.write(number: 42, string: "a\"b\n", into: &bytes)
        #expect(String(decoding: bytes, as: UTF8.self) == "event: e\ndata: {\"n\":42,\"s\":\"a\\\"b\\n\",\"k\":\"v\"}\n\n")
        var reference: [UInt8] = []
        StreamFrame.event("e", ["n": 42, "s": "a\"b\n", "k": "v"]).write(into: &reference)
        #expect(bytes == reference)
    }
}
