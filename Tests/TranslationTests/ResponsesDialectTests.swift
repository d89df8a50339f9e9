import ProxyModels
import Testing

@testable import Translation

@Suite("The OpenAI Responses API: requests, streams and stored conversations")
struct ResponsesDialectTests {
    func decode(_ json: String) throws -> ResponsesRequest {
        try ResponsesRequestDecoder.decode(JSONParser.parse(json))
    }

    func refusal(_ json: String) -> RequestError? {
        do {
            _ = try decode(json)
            return nil
        } catch let error as RequestError {
            return error
        } catch {
            return nil
        }
    }

    @Test("a string input is one user turn; instructions and leading developer messages become the system prompt")
    func stringInput() throws {
        let request = try decode(#"{"model":"gpt-5","input":"Hi","instructions":"Be brief."}"#)
        #expect(request.conversation.messages == [.init(role: .user, content: [.text("Hi")])])
        #expect(request.conversation.system == "Be brief.")
        #expect(request.store)
        #expect(request.input.count == 1)

        let codex = try decode(
            #"{"model":"gpt-5","instructions":"You are Codex.","input":[{"type":"message","role":"developer","content":[{"type":"input_text","text":"sandbox: read-only"}]},{"type":"message","role":"user","content":[{"type":"input_text","text":"fix it"}]},{"type":"message","role":"developer","content":"later note"}]}"#
        )
        #expect(codex.conversation.system == "You are Codex.\n\nsandbox: read-only")
        #expect(codex.conversation.messages.map(\.role) == [.user, .system])
    }

    @Test("a replayed tool loop becomes one assistant turn (reasoning, text, calls) and one user turn of results")
    func toolLoop() throws {
        let request = try decode(
            #"""
            {"model":"gpt-5","input":[
              {"role":"user","content":"weather?"},
              {"type":"reasoning","id":"rs_1","summary":[{"type":"summary_text","text":"Need the tool."}],"content":null,"encrypted_content":null},
              {"type":"function_call","call_id":"call_1","name":"get_weather","arguments":"{\"city\":\"Paris\"}"},
              {"type":"function_call","call_id":"call_2","name":"search","namespace":"mcp__docs__","arguments":"{}"},
              {"type":"custom_tool_call","call_id":"call_3","name":"apply_patch","input":"*** Begin Patch"},
              {"type":"function_call_output","call_id":"call_1","output":"sunny"},
              {"type":"function_call_output","call_id":"call_2","output":[{"type":"input_text","text":"doc"}]},
              {"type":"custom_tool_call_output","call_id":"call_3","output":"Done"}
            ]}
            """#)
        let messages = request.conversation.messages
        #expect(messages.map(\.role) == [.user, .assistant, .user])
        #expect(
            messages[1].content == [
                .thinking("Need the tool."), .toolUse(.init(id: "call_1", name: "get_weather", input: ["city": "Paris"])),
                .toolUse(.init(id: "call_2", name: "mcp__docs__search", input: [:])),
                .toolUse(.init(id: "call_3", name: "apply_patch", input: ["input": "*** Begin Patch"])),
            ])
        #expect(
            messages[2].content == [
                .toolResult(.init(toolUseID: "call_1", content: [.text("sunny")], isError: false)),
                .toolResult(.init(toolUseID: "call_2", content: [.text("doc")], isError: false)),
                .toolResult(.init(toolUseID: "call_3", content: [.text("Done")], isError: false)),
            ])
    }

    @Test("reasoning q2api handed out comes back from encrypted_content when it carried no summary")
    func encryptedReasoning() throws {
        let carried = ThinkingSignature.sign("private chain of thought", carryingText: true)
        let request = try decode(
            #"{"model":"gpt-5","input":[{"role":"user","content":"q"},{"type":"reasoning","summary":[],"encrypted_content":"\#(carried)"},{"role":"assistant","content":[{"type":"output_text","text":"a"}]}]}"#
        )
        #expect(request.conversation.messages[1].content == [.thinking("private chain of thought"), .text("a")])
    }

    @Test("tools: function, custom with a grammar, namespaces; web_search left out; hosted tools refused by name")
    func tools() throws {
        let request = try decode(
            #"""
            {"model":"gpt-5","input":"x","tools":[
              {"type":"function","name":"get_weather","strict":true,"parameters":{"type":"object","properties":{}}},
              {"type":"custom","name":"apply_patch","description":"Patch files.","format":{"type":"grammar","syntax":"lark","definition":"start: begin"}},
              {"type":"namespace","name":"mcp__docs__","description":"Docs","tools":[{"type":"function","name":"search","parameters":{"type":"object"}}]},
              {"type":"web_search","external_web_access":false}
            ],"tool_choice":{"type":"function","name":"get_weather"}}
            """#)
        #expect(request.conversation.tools.map(\.name) == ["get_weather", "apply_patch", "mcp__docs__search"])
        #expect(request.conversation.tools[1].description.contains("start: begin"))
        #expect(request.customTools == ["apply_patch"])
        #expect(request.clientName(of: "mcp__docs__search") == ("search", "mcp__docs__"))
        #expect(request.conversation.ignoredFields == ["tools.web_search"])
        #expect(request.conversation.toolChoice == .named("get_weather"))

        for hosted in ["file_search", "code_interpreter", "computer_use_preview", "mcp", "image_generation", "local_shell"] {
            let error = refusal(#"{"model":"gpt-5","input":"x","tools":[{"type":"\#(hosted)"}]}"#)
            #expect(error?.field == "tools.0.type")
            #expect(error?.message.contains(hosted) == true)
        }
    }

    @Test("options: max_output_tokens, text.format, reasoning effort and summary, store, include")
    func options() throws {
        let request = try decode(
            #"{"model":"gpt-5","input":"x","max_output_tokens":64,"store":false,"include":["reasoning.encrypted_content"],"reasoning":{"effort":"high","summary":"auto"},"text":{"format":{"type":"json_schema","name":"answer","schema":{"type":"object","properties":{"n":{"type":"integer"}},"required":["n"]}}}}"#
        )
        #expect(request.conversation.maxTokens == 64)
        #expect(!request.store)
        #expect(request.includeEncryptedReasoning)
        #expect(request.reasoningSummary)
        #expect(request.conversation.thinking == .adaptive)
        #expect(request.conversation.effort == .high)
        #expect(request.conversation.thinkingDisplay == .summarized)
        #expect(request.conversation.responseSchema?["required"] == ["n"])

        let quiet = try decode(#"{"model":"gpt-5","input":"x","reasoning":{"effort":"low"}}"#)
        #expect(quiet.conversation.thinkingDisplay == .omitted)
        #expect(try decode(#"{"model":"gpt-5","input":"x","reasoning":null}"#).conversation.thinking == nil)
    }

    @Test("what cannot be served is a 400 that names the member")
    func refusals() {
        #expect(refusal(#"{"input":"x"}"#)?.field == "model")
        #expect(refusal(#"{"model":"m"}"#)?.field == "input")
        #expect(refusal(#"{"model":"m","input":"x","background":true}"#)?.field == "background")
        #expect(refusal(#"{"model":"m","input":"x","conversation":"conv_1"}"#)?.field == "conversation")
        #expect(refusal(#"{"model":"m","input":[{"type":"item_reference","id":"msg_1"}]}"#)?.field == "input.0")
        #expect(
            refusal(#"{"model":"m","input":[{"role":"user","content":[{"type":"input_file","file_id":"f"}]}]}"#)?.field == "input.0.content.0.type")
        #expect(refusal(#"{"model":"m","input":"x","max_output_tokens":0}"#)?.field == "max_output_tokens")
        #expect(refusal(#"{"model":"m","input":"x","reasoning":{"effort":"huge"}}"#)?.field == "reasoning.effort")
        #expect(refusal(#"{"model":"m","input":"x","tool_choice":{"type":"function","name":"nope"}}"#)?.field == "tool_choice.name")
        #expect(refusal(#"{"model":"m","input":[{"type":"function_call","name":"f","arguments":"{}"}]}"#)?.field == "input.0.call_id")
        // Calls and outputs pair up, as the API requires.
        #expect(
            refusal(#"{"model":"m","input":[{"role":"user","content":"q"},{"type":"function_call_output","call_id":"call_x","output":"r"}]}"#)?.field
                == "input.1.call_id")
        #expect(
            refusal(
                #"{"model":"m","input":[{"role":"user","content":"q"},{"type":"function_call","call_id":"c","name":"f","arguments":"{}"},{"role":"user","content":"next"}]}"#
            )?.field == "input.1")
        // previous_response_id alone needs no input.
        #expect(refusal(#"{"model":"m","previous_response_id":"resp_1"}"#) == nil)
    }

    // MARK: - Stream

    static let header = ReplyHeader(id: "resp_abc", model: "gpt-5", created: 1_700_000_000, inputTokens: 9)

    func stream(_ request: ResponsesRequest, _ events: [ReplyEvent]) -> [JSONValue] {
        var encoder = ResponsesDialect().streamEncoder(for: request, header: Self.header)
        return (encoder.opening() + events.flatMap { encoder.encode($0) }).compactMap { frame in
            if case .event(let name, let data) = frame {
                #expect(name == data["type"]?.stringValue, "the SSE event name is the event's type")
                return data
            }
            return nil
        }
    }

    static let toolReply: [ReplyEvent] = [
        .blockStart(index: 0, block: .thinking), .thinkingDelta(index: 0, text: "Let me check."), .signatureDelta(index: 0, signature: "sig"),
        .blockStop(index: 0),
        .blockStart(index: 1, block: .text), .textDelta(index: 1, text: "Check"), .textDelta(index: 1, text: "ing."), .blockStop(index: 1),
        .blockStart(index: 2, block: .toolUse(id: "call_9", name: "get_weather")), .toolInputDelta(index: 2, json: #"{"city":"#),
        .toolInputDelta(index: 2, json: #""Paris"}"#), .blockStop(index: 2),
        .finish(.init(stopReason: .toolUse, usage: .init(inputTokens: 9, outputTokens: 20, cacheReadInputTokens: 3))),
    ]

    @Test("a streamed tool turn: lifecycle, item events in order, numbered; the completed response holds every item")
    func streamedToolTurn() throws {
        let request = try decode(#"{"model":"gpt-5","input":"x","stream":true,"reasoning":{"effort":"low","summary":"auto"}}"#)
        let events = stream(request, Self.toolReply)
        #expect(
            events.map { $0["type"]?.stringValue ?? "" } == [
                "response.created", "response.in_progress",
                "response.output_item.added", "response.reasoning_summary_part.added", "response.reasoning_summary_text.delta",
                "response.reasoning_summary_text.done", "response.reasoning_summary_part.done", "response.output_item.done",
                "response.output_item.added", "response.content_part.added", "response.output_text.delta", "response.output_text.delta",
                "response.output_text.done", "response.content_part.done", "response.output_item.done",
                "response.output_item.added", "response.function_call_arguments.delta", "response.function_call_arguments.delta",
                "response.function_call_arguments.done", "response.output_item.done",
                "response.completed",
            ])
        #expect(events.map { $0["sequence_number"]?.intValue ?? -1 } == Array(0..<events.count))
        let completed = try #require(events.last?["response"])
        #expect(completed["status"] == "completed")
        let output = try #require(completed["output"]?.arrayValue)
        #expect(output.map { $0["type"]?.stringValue ?? "" } == ["reasoning", "message", "function_call"])
        #expect(output[0]["summary"]?[0]?["text"] == "Let me check.")
        #expect(output[1]["content"]?[0]?["text"] == "Checking.")
        #expect(output[2]["arguments"] == #"{"city":"Paris"}"#)
        #expect(output[2]["call_id"] == "call_9")
        // Every item a stream announces keeps its id to the end.
        let added = events.filter { $0["type"] == "response.output_item.added" }.map { $0["item"]?["id"] }
        #expect(added == output.map { $0["id"] })
        let usage = try #require(completed["usage"])
        #expect(usage["input_tokens"] == 12)
        #expect(usage["input_tokens_details"]?["cached_tokens"] == 3)
        #expect(usage["output_tokens"] == 20)
        #expect(usage["total_tokens"] == 32)
        #expect((usage["output_tokens_details"]?["reasoning_tokens"]?.intValue ?? 0) > 0)
    }

    @Test("the whole-reply body has the same items as the stream's completed response")
    func bodyMatchesStream() throws {
        let request = try decode(#"{"model":"gpt-5","input":"x","reasoning":{"effort":"low","summary":"auto"}}"#)
        var reply = ReplyAccumulator()
        for event in Self.toolReply { reply.add(event) }
        let body = try ResponsesDialect().body(for: request, header: Self.header, reply: reply)
        let streamed = stream(request, Self.toolReply).last?["response"]
        #expect(body["output"] == streamed?["output"])
        #expect(body["usage"] == streamed?["usage"])
    }

    @Test("a reply cut by max_output_tokens is incomplete; a failure after the start is response.failed with a code")
    func endings() throws {
        let request = try decode(#"{"model":"gpt-5","input":"x","max_output_tokens":5}"#)
        let cut = stream(
            request,
            [
                .blockStart(index: 0, block: .text), .textDelta(index: 0, text: "abc"), .blockStop(index: 0),
                .finish(.init(stopReason: .maxTokens, usage: .init(inputTokens: 1, outputTokens: 5))),
            ])
        #expect(cut.last?["type"] == "response.incomplete")
        #expect(cut.last?["response"]?["incomplete_details"]?["reason"] == "max_output_tokens")

        var encoder = ResponsesDialect().streamEncoder(for: request, header: Self.header)
        _ = encoder.opening()
        let failed = encoder.failure(.rateLimited("every account is throttled", retryAfter: 20))
        guard case .event(_, let event)? = failed.last else { throw Failure("no failure event") }
        #expect(event["type"] == "response.failed")
        #expect(event["response"]?["status"] == "failed")
        #expect(event["response"]?["error"]?["code"] == "rate_limit_exceeded")
        #expect(event["response"]?["error"]?["message"]?.stringValue?.contains("try again in 20s") == true)
    }

    @Test("custom tools come back as custom_tool_call with their free-form input; namespaced calls with their namespace")
    func customAndNamespacedCalls() throws {
        let request = try decode(
            #"{"model":"gpt-5","input":"x","tools":[{"type":"custom","name":"apply_patch"},{"type":"namespace","name":"mcp__docs__","tools":[{"type":"function","name":"search"}]}]}"#
        )
        var reply = ReplyAccumulator()
        for event: ReplyEvent in [
            .blockStart(index: 0, block: .toolUse(id: "c1", name: "apply_patch")), .toolInputDelta(index: 0, json: #"{"input":"*** Begin Patch"}"#),
            .blockStop(index: 0), .blockStart(index: 1, block: .toolUse(id: "c2", name: "mcp__docs__search")), .blockStop(index: 1),
            .finish(.init(stopReason: .toolUse, usage: .init(inputTokens: 1, outputTokens: 1))),
        ] { reply.add(event) }
        let output = try #require(try ResponsesDialect().body(for: request, header: Self.header, reply: reply)["output"]?.arrayValue)
        #expect(output[0]["type"] == "custom_tool_call")
        #expect(output[0]["input"] == "*** Begin Patch")
        #expect(output[1]["type"] == "function_call")
        #expect(output[1]["name"] == "search")
        #expect(output[1]["namespace"] == "mcp__docs__")
        #expect(output[1]["arguments"] == "{}")
    }

    // MARK: - Stored conversations

    @Test("previous_response_id continues the stored input and output; instructions are this request's; unknown ids are a 400")
    func continuation() async throws {
        let archive = TestArchive()
        let dialect = ResponsesDialect()
        let first = try decode(#"{"model":"gpt-5","input":"remember 42","instructions":"old","reasoning":{"effort":"low"}}"#)
        var reply = ReplyAccumulator()
        for event: ReplyEvent in [
            .blockStart(index: 0, block: .thinking), .signatureDelta(index: 0, signature: ThinkingSignature.sign("hidden", carryingText: true)),
            .blockStop(index: 0), .blockStart(index: 1, block: .text), .textDelta(index: 1, text: "Noted."), .blockStop(index: 1),
            .finish(.init(stopReason: .endTurn, usage: .init(inputTokens: 1, outputTokens: 1))),
        ] { reply.add(event) }
        #expect(dialect.keepsReply(first))
        await dialect.finished(first, header: Self.header, reply: reply, archive: archive)

        let second = try decode(#"{"model":"gpt-5","input":"what was it?","previous_response_id":"resp_abc","instructions":"new"}"#)
        let prepared = try await dialect.prepare(second, archive: archive)
        #expect(prepared.conversation.system == "new")
        #expect(
            prepared.conversation.messages == [
                .init(role: .user, content: [.text("remember 42")]), .init(role: .assistant, content: [.thinking("hidden"), .text("Noted.")]),
                .init(role: .user, content: [.text("what was it?")]),
            ])

        // A third turn follows the chain back through the second; each record holds its own turn only.
        let secondHeader = ReplyHeader(id: "resp_def", model: "gpt-5", created: 1_700_000_001, inputTokens: 9)
        var answer = ReplyAccumulator()
        for event: ReplyEvent in [
            .blockStart(index: 0, block: .text), .textDelta(index: 0, text: "42."), .blockStop(index: 0),
            .finish(.init(stopReason: .endTurn, usage: .init(inputTokens: 1, outputTokens: 1))),
        ] { answer.add(event) }
        await dialect.finished(prepared, header: secondHeader, reply: answer, archive: archive)
        #expect(await archive.record("resp_def")?["input"]?.arrayValue?.count == 1)
        let third = try await dialect.prepare(
            try decode(#"{"model":"gpt-5","input":"thanks","previous_response_id":"resp_def"}"#), archive: archive)
        #expect(third.conversation.messages.map(\.text) == ["remember 42", "Noted.", "what was it?", "42.", "thanks"])
        // A chain whose earlier response is gone says so.
        _ = await archive.forget("resp_abc")
        await #expect(throws: ProxyFailure.self) {
            try await dialect.prepare(try decode(#"{"model":"gpt-5","input":"x","previous_response_id":"resp_def"}"#), archive: archive)
        }

        let unknown = try decode(#"{"model":"gpt-5","input":"x","previous_response_id":"resp_gone"}"#)
        await #expect(throws: ProxyFailure.self) { try await dialect.prepare(unknown, archive: archive) }
        #expect(!dialect.keepsReply(try decode(#"{"model":"gpt-5","input":"x","store":false}"#)))
    }

    struct Failure: Error {
        let message: String
        init(_ message: String) { self.message = message }
    }
}

/// An in-memory archive for the dialect's own tests.
actor TestArchive: ReplyArchive {
    var records: [String: JSONValue] = [:]
    func record(_ id: String) async -> JSONValue? { records[id] }
    func keep(_ id: String, _ record: JSONValue) async { records[id] = record }
    func forget(_ id: String) async -> Bool { records.removeValue(forKey: id) != nil }
}
