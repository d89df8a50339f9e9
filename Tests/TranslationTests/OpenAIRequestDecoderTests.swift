import ProxyModels
import Testing

@testable import Translation

@Suite("Reading OpenAI Chat Completions requests")
struct OpenAIRequestDecoderTests {
    func decode(_ text: String) throws -> OpenAIRequest {
        try OpenAIRequestDecoder.decode(try JSONParser.parse(text))
    }

    static let png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="

    @Test("a full agent turn: roles, tools, tool calls and results, options")
    func fullRequest() throws {
        let request = try decode(
            #"""
            {"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},"user":"session-7","seed":3,"temperature":0.2,"top_p":1,
             "max_tokens":100,"max_completion_tokens":200,"stop":["END","STOP"],"parallel_tool_calls":true,"logprobs":false,
             "tools":[{"type":"function","function":{"name":"get_weather","description":"Weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}],
             "tool_choice":"required",
             "messages":[
              {"role":"system","content":"Be terse."},
              {"role":"developer","content":[{"type":"text","text":"Use metric units."}]},
              {"role":"user","content":[{"type":"text","text":"Weather in Paris and Rome?"},{"type":"image_url","image_url":{"url":"data:image/png;base64,\#(Self.png)","detail":"low"}}]},
              {"role":"assistant","content":null,"tool_calls":[
                {"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},
                {"id":"call_2","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Rome\"}"}}]},
              {"role":"tool","tool_call_id":"call_1","content":"18C"},
              {"role":"tool","tool_call_id":"call_2","content":[{"type":"text","text":"21C"}]},
              {"role":"user","content":"Thanks"}
             ]}
            """#)
        let conversation = request.conversation
        #expect(request.includeUsage)
        #expect(conversation.model == "gpt-4o")
        #expect(conversation.system == "Be terse.\nUse metric units.")
        #expect(conversation.stream)
        #expect(conversation.sessionKey == "session-7")
        #expect(conversation.maxTokens == 200)
        #expect(conversation.stopSequences == ["END", "STOP"])
        #expect(conversation.toolChoice == .any)
        #expect(
            conversation.tools == [
                .init(name: "get_weather", description: "Weather", inputSchema: ["type": "object", "properties": ["city": ["type": "string"]]])
            ])
        #expect(conversation.messages.count == 4)
        #expect(conversation.messages[0].content == [.text("Weather in Paris and Rome?"), .image(.init(format: "png", base64: Self.png))])
        #expect(
            conversation.messages[1]
                == .init(
                    role: .assistant,
                    content: [
                        .toolUse(.init(id: "call_1", name: "get_weather", input: ["city": "Paris"])),
                        .toolUse(.init(id: "call_2", name: "get_weather", input: ["city": "Rome"])),
                    ]))
        #expect(
            conversation.messages[2]
                == .init(
                    role: .user,
                    content: [
                        .toolResult(.init(toolUseID: "call_1", content: [.text("18C")], isError: false)),
                        .toolResult(.init(toolUseID: "call_2", content: [.text("21C")], isError: false)),
                    ]))
        #expect(conversation.messages[3] == .init(role: .user, content: [.text("Thanks")]))
    }

    @Test("a minimal request gets the defaults")
    func defaults() throws {
        let request = try decode(#"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#)
        #expect(!request.includeUsage)
        #expect(request.conversation == Conversation(model: "m", messages: [.init(role: .user, content: [.text("hi")])]))
    }

    @Test(
        "tool_choice variants",
        arguments: [
            (#""auto""#, Conversation.ToolChoice.auto),
            (#""none""#, .none),
            (#""required""#, .any),
            (#"{"type":"function","function":{"name":"f"}}"#, .named("f")),
            ("null", .auto),
        ])
    func toolChoice(json: String, expected: Conversation.ToolChoice) throws {
        let request = try decode(#"{"model":"m","messages":[{"role":"user","content":"x"}],"tool_choice":\#(json)}"#)
        #expect(request.conversation.toolChoice == expected)
    }

    @Test("response_format becomes an instruction")
    func responseFormat() throws {
        let object = try decode(#"{"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_object"}}"#)
        #expect(object.conversation.extraInstructions == [OpenAIRequestDecoder.jsonObjectInstruction])
        let schema = try decode(
            #"{"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema","json_schema":{"name":"r","schema":{"type":"object","properties":{"a":{"type":"integer"}}}}}}"#
        )
        #expect(schema.conversation.extraInstructions.count == 1)
        #expect(schema.conversation.extraInstructions[0].hasSuffix(#"{"type":"object","properties":{"a":{"type":"integer"}}}"#))
        let text = try decode(#"{"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{"type":"text"}}"#)
        #expect(text.conversation.extraInstructions.isEmpty)
    }

    @Test("a single stop string and max_tokens alone")
    func stopString() throws {
        let request = try decode(#"{"model":"m","messages":[{"role":"user","content":"x"}],"stop":"%%%","max_tokens":5}"#)
        #expect(request.conversation.stopSequences == ["%%%"])
        #expect(request.conversation.maxTokens == 5)
    }

    @Test("an empty arguments string is an empty input; assistant text is kept beside tool calls")
    func emptyArguments() throws {
        let request = try decode(
            #"{"model":"m","messages":[{"role":"user","content":"x"},{"role":"assistant","content":"Checking.","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":""}}]},{"role":"tool","tool_call_id":"c","content":""}]}"#
        )
        #expect(request.conversation.messages[1].content == [.text("Checking."), .toolUse(.init(id: "c", name: "f", input: [:]))])
        #expect(request.conversation.messages[2].content == [.toolResult(.init(toolUseID: "c", content: [], isError: false))])
    }

    @Test(
        "malformed or unsupported requests name the field",
        arguments: [
            (#"{"messages":[{"role":"user","content":"x"}]}"#, "model"),
            (#"{"model":"m"}"#, "messages"),
            (#"{"model":"m","messages":[]}"#, "messages"),
            (#"{"model":"m","n":2,"messages":[{"role":"user","content":"x"}]}"#, "n"),
            (#"{"model":"m","messages":[{"role":"robot","content":"x"}]}"#, "messages.0.role"),
            (
                #"{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://example.com/cat.png"}}]}]}"#,
                "messages.0.content.0.image_url.url"
            ),
            (
                #"{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/bmp;base64,AAAA"}}]}]}"#,
                "messages.0.content.0.image_url.url"
            ),
            (#"{"model":"m","messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{}}]}]}"#, "messages.0.content.0.type"),
            (
                #"{"model":"m","messages":[{"role":"user","content":"x"},{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{oops"}}]}]}"#,
                "messages.1.tool_calls.0.function.arguments"
            ),
            (#"{"model":"m","messages":[{"role":"tool","content":"x"}]}"#, "messages.0.tool_call_id"),
            (#"{"model":"m","messages":[{"role":"user","content":"x"}],"stop":["a","b","c","d","e"]}"#, "stop"),
            (#"{"model":"m","messages":[{"role":"user","content":"x"}],"max_completion_tokens":0}"#, "max_completion_tokens"),
            (#"{"model":"m","messages":[{"role":"user","content":"x"}],"tool_choice":"sometimes"}"#, "tool_choice"),
            (#"{"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{"type":"web_search"}]}"#, "tools.0.type"),
            (#"{"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{"type":"xml"}}"#, "response_format.type"),
            (#"{"model":"m","messages":[{"role":"user","content":"x"}],"functions":[{"name":"f"}]}"#, "functions"),
            (#"{"model":"m","messages":[{"role":"user","content":"x"}],"stream":"yes"}"#, "stream"),
        ])
    func namesField(text: String, field: String) {
        #expect {
            _ = try decode(text)
        } throws: { error in
            (error as? RequestError)?.field == field
        }
    }

    @Test("a remote image URL says that fetching is not implemented")
    func remoteImageMessage() {
        #expect {
            _ = try decode(#"{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"http://x/y.png"}}]}]}"#)
        } throws: { error in
            (error as? RequestError)?.message.contains("not implemented") == true
        }
    }
}
