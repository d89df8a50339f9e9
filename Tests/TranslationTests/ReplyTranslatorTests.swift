import ProxyModels
import Testing

@testable import Translation

/// Runs events through a translator and the Claude encoder, returning the SSE event names and the
/// assembled non-streaming message.
func translate(_ events: [QEvent], _ configuration: ReplyTranslator.Configuration = .init(inputTokens: 10)) -> (
    names: [String], events: [ReplyEvent], message: JSONValue
) {
    var translator = ReplyTranslator(configuration)
    var out: [ReplyEvent] = []
    for event in events { out += translator.handle(event) }
    out += translator.finish()
    let encoder = ClaudeStreamEncoder(messageID: "msg_test", model: "claude-x", inputTokens: 10)
    var names = [encoder.messageStart().name]
    var assembler = ClaudeMessageAssembler()
    for event in out {
        names += encoder.encode(event).map(\.name)
        assembler.add(event)
    }
    return (names, out, assembler.message(id: "msg_test", model: "claude-x", inputTokens: 10))
}

@Suite("Amazon Q events → Claude reply")
struct ReplyTranslatorTests {
    @Test("the text sample gives the exact Claude event sequence")
    func textSample() {
        let result = translate([
            .initialResponse(conversationID: "c"), .text("Hello"), .text("! 你好，"), .text("how can I help"), .text(" you today? 🙂"),
            .ignored("messageMetadataEvent"),
        ])
        #expect(
            result.names == [
                "message_start", "content_block_start", "content_block_delta", "content_block_delta", "content_block_delta", "content_block_delta",
                "content_block_stop", "message_delta", "message_stop",
            ])
        #expect(result.message["content"]?[0]?["text"] == "Hello! 你好，how can I help you today? 🙂")
        #expect(result.message["stop_reason"] == "end_turn")
    }

    @Test("the tool sample gives text, two tool blocks with exact fragments, and stop_reason tool_use")
    func toolSample() {
        let id1 = "tooluse_Q1a2B3c4D5e6F7g8H9i0Jk"
        let id2 = "tooluse_Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss"
        let result = translate([
            .initialResponse(conversationID: "c"), .text("I'll check the weather"), .text(" for you."),
            .toolUse(id: id1, name: "get_weather", input: nil, stop: false),
            .toolUse(id: id1, name: "get_weather", input: "{\"location\": \"Par", stop: false),
            .toolUse(id: id1, name: "get_weather", input: "is\", \"unit\": \"cel", stop: false),
            .toolUse(id: id1, name: "get_weather", input: "sius\"}", stop: false),
            .toolUse(id: id1, name: "get_weather", input: nil, stop: true),
            .toolUse(id: id2, name: "get_time", input: nil, stop: false),
            .toolUse(id: id2, name: "get_time", input: nil, stop: true),
        ])
        let fragments = result.events.compactMap { if case .toolInputDelta(_, let json) = $0 { json } else { nil } }
        #expect(fragments == ["{\"location\": \"Par", "is\", \"unit\": \"cel", "sius\"}"])
        #expect(result.events.contains(.blockStart(index: 1, block: .toolUse(id: id1, name: "get_weather"))))
        #expect(result.events.contains(.blockStart(index: 2, block: .toolUse(id: id2, name: "get_time"))))
        #expect(result.message["stop_reason"] == "tool_use")
        #expect(result.message["content"]?[1]?["input"] == ["location": "Paris", "unit": "celsius"])
        #expect(result.message["content"]?[2]?["input"] == [:])
    }

    @Test("a re-sent tool use after stop is ignored")
    func duplicateToolUse() {
        let result = translate([
            .toolUse(id: "t", name: "a", input: nil, stop: false), .toolUse(id: "t", name: "a", input: "{}", stop: true),
            .toolUse(id: "t", name: "a", input: "{}", stop: true),
        ])
        #expect(result.events.filter { if case .blockStart = $0 { true } else { false } }.count == 1)
    }

    @Test("a mid-stream exception closes the open block and ends with an error, not end_turn")
    func exception() {
        let failure = QUpstreamFailure.classify(
            status: nil, name: "ThrottlingException", reason: "INSUFFICIENT_MODEL_CAPACITY", message: "high traffic")
        let result = translate([.text("Let me think about"), .text(" that"), .failure(failure)])
        #expect(result.names.suffix(2) == ["content_block_stop", "error"])
        #expect(!result.names.contains("message_delta"))
        #expect(ClaudeFailureShape().type(of: ProxyFailure(upstream: failure)) == "overloaded_error")
    }

    @Test("thinking tags cut across frames become a thinking block with a signature")
    func thinkingSplit() {
        let result = translate(
            [.text("<thin"), .text("king>I should"), .text(" answer.</think"), .text("ing>\n\nThe answer is 42.")],
            .init(thinkingRequested: true))
        #expect(result.message["content"]?[0]?["type"] == "thinking")
        #expect(result.message["content"]?[0]?["thinking"] == "I should answer.")
        #expect(result.message["content"]?[0]?["signature"]?.stringValue?.hasPrefix(ThinkingSignature.prefix) == true)
        #expect(result.message["content"]?[1]?["text"] == "The answer is 42.")
        let signatureIndex = result.events.firstIndex { if case .signatureDelta = $0 { true } else { false } }
        let stopIndex = result.events.firstIndex(of: .blockStop(index: 0))
        #expect(signatureIndex != nil && stopIndex != nil && signatureIndex! < stopIndex!, "signature_delta comes before content_block_stop")
    }

    @Test("a frame ending in '<' is not mistaken for a tag (the reference projects' bug)")
    func lessThanAtFrameEnd() {
        let result = translate([.text("if a <"), .text(" b then return")], .init(thinkingRequested: true))
        #expect(result.message["content"]?[0]?["text"] == "if a < b then return")
        #expect(result.message["content"]?.arrayValue?.count == 1)
    }

    @Test("without thinking requested, tags pass through as text")
    func tagsUntouchedWithoutThinking() {
        let result = translate([.text("<thinking>x</thinking>y")])
        #expect(result.message["content"]?[0]?["text"] == "<thinking>x</thinking>y")
    }

    @Test("a stop sequence split across frames cuts the text and reports it")
    func stopSequence() {
        let result = translate([.text("alpha beta ST"), .text("OP gamma")], .init(stopSequences: ["STOP"]))
        #expect(result.message["content"]?[0]?["text"] == "alpha beta ")
        #expect(result.message["stop_reason"] == "stop_sequence")
        #expect(result.message["stop_sequence"] == "STOP")
    }

    @Test(
        "a 200,000-character reply streams delta for delta: the translator holds back at most the start of a tag or stop sequence",
        arguments: [false, true])
    func longReplyHoldsNothingBack(inThinking: Bool) {
        // The per-frame cost stays flat with the reply's length only if nothing piles up: each delta comes out at once,
        // but for the few characters that may begin a candidate (BENCHMARKS.md, "Cost per frame against reply length").
        let stopSequences = ["STOP", "</answer>"]
        let candidates = stopSequences + [ReplyTranslator.openTag, ReplyTranslator.closeTag]
        let mayHold = candidates.map(\.count).max()! - 1
        let text = Array(String(repeating: "Lorem ipsum dolor sit amet, consectetur adipiscing elit. Sed do eiusmod, ", count: 2_700).prefix(200_000))
        let deltas = stride(from: 0, to: text.count, by: 12).map { String(text[$0..<min($0 + 12, text.count)]) }
        var translator = ReplyTranslator(.init(thinkingRequested: true, stopSequences: stopSequences, maxTokens: 1_000_000))
        var received = ""
        var receivedCount = 0
        func take(_ events: [ReplyEvent]) {
            for event in events {
                switch event {
                case .textDelta(_, let delta), .thinkingDelta(_, let delta):
                    received += delta
                    receivedCount += delta.count
                default: break
                }
            }
        }
        if inThinking { take(translator.handle(.text(ReplyTranslator.openTag))) }
        var sentCount = 0
        var largestLag = 0
        for delta in deltas {
            sentCount += delta.count
            take(translator.handle(.text(delta)))
            largestLag = max(largestLag, sentCount - receivedCount)
        }
        take(translator.finish())
        #expect(largestLag <= mayHold)
        #expect(received == String(text))
    }

    @Test("max_tokens cuts the text at the budget")
    func maxTokens() {
        let result = translate([.text(String(repeating: "abcd", count: 100))], .init(maxTokens: 10))
        #expect(result.message["content"]?[0]?["text"]?.stringValue?.count == 40)
        #expect(result.message["stop_reason"] == "max_tokens")
    }

    @Test("a tool call cut off by the end of the stream is never sent")
    func cutOffTool() {
        let result = translate([
            .text("Writing."), .toolUse(id: "t", name: "Write", input: nil, stop: false),
            .toolUse(id: "t", name: "Write", input: "{\"path\": \"a.txt\", \"content\": \"abc", stop: false),
        ])
        #expect(!result.events.contains { if case .blockStart(_, .toolUse) = $0 { true } else { false } })
        #expect(result.message["stop_reason"] == "max_tokens")
        let texts = result.message["content"]?.arrayValue?.compactMap { $0["text"]?.stringValue } ?? []
        #expect(texts.last?.contains("\"Write\" was cut off") == true)
    }

    @Test("a stopped tool call whose JSON does not parse is treated as cut off")
    func invalidToolJSON() {
        let result = translate([.toolUse(id: "t", name: "Write", input: "{\"a\": ", stop: true)])
        #expect(result.message["stop_reason"] == "max_tokens")
    }

    @Test("tool names shortened for the upstream come back as the client's names")
    func toolNamesRestored() {
        var names = ToolNameMap()
        let upstream = names.upstreamName(for: "mcp__x__do-it")
        let result = translate([.toolUse(id: "t", name: upstream, input: "{}", stop: true)], .init(toolNames: names))
        #expect(result.message["content"]?[0]?["name"] == "mcp__x__do-it")
    }

    @Test("upstream token usage replaces the estimate when present")
    func usage() {
        let result = translate([
            .text("hi"), .usage(QTokenUsage(uncachedInputTokens: 11, outputTokens: 7, cacheReadInputTokens: 5, cacheWriteInputTokens: 3)),
        ])
        #expect(result.message["usage"] == ["input_tokens": 11, "output_tokens": 7, "cache_creation_input_tokens": 3, "cache_read_input_tokens": 5])
    }
}
