import ProxyModels
import Testing

@testable import Translation

@Suite("Encoding replies as OpenAI chunks and completions")
struct OpenAIStreamEncoderTests {
    static let head = #"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o","choices":"#

    func encoder(includeUsage: Bool = false) -> OpenAIStreamEncoder {
        OpenAIStreamEncoder(completionID: "chatcmpl-1", model: "gpt-4o", created: 1_700_000_000, includeUsage: includeUsage)
    }

    func encode(_ events: [ReplyEvent], includeUsage: Bool = false) -> [String] {
        var encoder = encoder(includeUsage: includeUsage)
        return [encoder.roleChunk().jsonString] + events.flatMap { encoder.encode($0).map(\.jsonString) }
    }

    func assemble(_ events: [ReplyEvent]) -> JSONValue {
        var reply = ReplyAccumulator()
        for event in events { reply.add(event) }
        return OpenAICompletionAssembler.completion(reply, id: "chatcmpl-1", model: "gpt-4o", created: 1_700_000_000, inputTokens: 9)
    }

    static let usage = ReplyUsage(inputTokens: 10, outputTokens: 4, cacheReadInputTokens: 2)

    static let textReply: [ReplyEvent] = [
        .blockStart(index: 0, block: .text), .textDelta(index: 0, text: "Hel"), .textDelta(index: 0, text: "lo"), .blockStop(index: 0),
        .finish(.init(stopReason: .endTurn, usage: usage)),
    ]

    /// Reasoning, text, then two parallel tool calls; block indices are Claude's, tool indices count tool calls only.
    static let toolReply: [ReplyEvent] = [
        .blockStart(index: 0, block: .thinking), .thinkingDelta(index: 0, text: "Two cities."), .signatureDelta(index: 0, signature: "s"),
        .blockStop(index: 0),
        .blockStart(index: 1, block: .text), .textDelta(index: 1, text: "Checking."), .blockStop(index: 1),
        .blockStart(index: 2, block: .toolUse(id: "t1", name: "get_weather")), .toolInputDelta(index: 2, json: #"{"city":"#),
        .toolInputDelta(index: 2, json: #""Paris"}"#), .blockStop(index: 2),
        .blockStart(index: 3, block: .toolUse(id: "t2", name: "get_time")), .blockStop(index: 3),
        .finish(.init(stopReason: .toolUse, usage: usage)),
    ]

    @Test("golden: a text reply with include_usage")
    func goldenText() {
        #expect(
            encode(Self.textReply, includeUsage: true) == [
                Self.head + #"[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}"#,
                Self.head + #"[{"index":0,"delta":{"content":"Hel"},"logprobs":null,"finish_reason":null}]}"#,
                Self.head + #"[{"index":0,"delta":{"content":"lo"},"logprobs":null,"finish_reason":null}]}"#,
                Self.head + #"[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}"#,
                Self.head
                    + #"[],"usage":{"prompt_tokens":12,"completion_tokens":4,"total_tokens":16,"prompt_tokens_details":{"cached_tokens":2}}}"#,
            ])
    }

    @Test("golden: reasoning, text and parallel tool calls")
    func goldenTools() {
        #expect(
            encode(Self.toolReply) == [
                Self.head + #"[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}"#,
                Self.head + #"[{"index":0,"delta":{"reasoning_content":"Two cities."},"logprobs":null,"finish_reason":null}]}"#,
                Self.head + #"[{"index":0,"delta":{"content":"Checking."},"logprobs":null,"finish_reason":null}]}"#,
                Self.head
                    + #"[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"t1","type":"function","function":{"name":"get_weather","arguments":""}}]},"logprobs":null,"finish_reason":null}]}"#,
                Self.head
                    + #"[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]},"logprobs":null,"finish_reason":null}]}"#,
                Self.head
                    + #"[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]},"logprobs":null,"finish_reason":null}]}"#,
                Self.head
                    + #"[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"t2","type":"function","function":{"name":"get_time","arguments":""}}]},"logprobs":null,"finish_reason":null}]}"#,
                Self.head
                    + #"[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"{}"}}]},"logprobs":null,"finish_reason":null}]}"#,
                Self.head + #"[{"index":0,"delta":{},"logprobs":null,"finish_reason":"tool_calls"}]}"#,
            ])
    }

    @Test(
        "finish reasons",
        arguments: [
            (StopReason.endTurn, "stop"), (.stopSequence, "stop"), (.toolUse, "tool_calls"), (.maxTokens, "length"),
        ])
    func finishReasons(reason: StopReason, expected: String) {
        #expect(OpenAIStreamEncoder.finishReason(reason) == expected)
    }

    @Test("a cut-off reply: the note is content, the finish is length")
    func cutOff() {
        let note = ReplyTranslator.cutOffNote(tool: "Write", receivedCharacters: 30)
        let events: [ReplyEvent] = [
            .blockStart(index: 0, block: .text), .textDelta(index: 0, text: "Writing."), .blockStop(index: 0),
            .blockStart(index: 1, block: .text), .textDelta(index: 1, text: note), .blockStop(index: 1),
            .finish(.init(stopReason: .maxTokens, usage: Self.usage)),
        ]
        let chunks = encode(events)
        #expect(chunks[2].contains(#""content":"\n\n[q2api: the call to tool"#))
        #expect(chunks.last!.contains(#""finish_reason":"length""#))
        #expect(!chunks.contains { $0.contains("tool_calls") })
        let completion = assemble(events)
        #expect(completion["choices"]?[0]?["message"]?["content"]?.stringValue == "Writing.\n\n" + note)
        #expect(completion["choices"]?[0]?["finish_reason"] == "length")
    }

    @Test("a mid-stream failure becomes an error chunk the SDK raises")
    func failure() {
        var encoder = encoder()
        let chunks = encoder.encode(
            .failure(QUpstreamFailure(kind: .overloaded, status: nil, name: "ModelStreamError", reason: nil, message: "high traffic")))
        #expect(chunks.count == 1)
        #expect(chunks[0]["error"]?["message"] == "high traffic")
        #expect(chunks[0]["error"]?["type"] == "server_error")
        #expect(chunks[0]["error"]?["param"] == .null)
        #expect(chunks[0]["choices"] == nil)
    }

    @Test("golden: the non-stream completion of a text reply")
    func goldenCompletionText() {
        #expect(
            assemble(Self.textReply).jsonString
                == #"{"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"Hello","refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":4,"total_tokens":16,"prompt_tokens_details":{"cached_tokens":2}}}"#
        )
    }

    @Test("the non-stream completion of a tool reply")
    func completionTools() {
        let message = assemble(Self.toolReply)["choices"]?[0]?["message"]
        #expect(message?["content"] == "Checking.")
        #expect(message?["reasoning_content"] == "Two cities.")
        #expect(
            message?["tool_calls"]
                == [
                    ["id": "t1", "type": "function", "function": ["name": "get_weather", "arguments": #"{"city":"Paris"}"#]],
                    ["id": "t2", "type": "function", "function": ["name": "get_time", "arguments": "{}"]],
                ])
        let onlyTool = assemble(Array(Self.toolReply[7...]))
        #expect(onlyTool["choices"]?[0]?["message"]?["content"] == .null)
        #expect(onlyTool["choices"]?[0]?["finish_reason"] == "tool_calls")
    }
}
