import Foundation
import ProxyModels
import Testing

@testable import Translation

/// Builds a plan with fixed ids and time so results are reproducible.
func plan(_ request: String, template: RequestTemplate = .builtIn, maximumInputTokens: Int = 200_000) throws -> UpstreamRequestPlan {
    let conversation = try ClaudeRequestDecoder.decode(try JSONParser.parse(request))
    var counter = 0
    return try UpstreamRequestBuilder.build(
        conversation, template: template,
        options: .init(
            modelID: "claude-sonnet-4.5", maximumInputTokens: maximumInputTokens, currentTime: "Monday, 2026-01-19T16:50:51.123+00:00",
            makeID: {
                counter += 1
                return "00000000-0000-4000-8000-" + String(repeating: "0", count: 12 - String(counter).count) + String(counter)
            }))
}

extension JSONValue {
    var history: [JSONValue] { self["conversationState"]?["history"]?.arrayValue ?? [] }
    var current: JSONValue { self["conversationState"]?["currentMessage"]?["userInputMessage"] ?? .null }
}

@Suite("Claude request → Amazon Q payload repairs")
struct UpstreamRequestBuilderTests {
    @Test("a plain request becomes one current message in the CLI's envelope")
    func plainRequest() throws {
        let body = try plan(#"{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"Hello"}]}"#).body
        #expect(body.history.isEmpty)
        #expect(body["conversationState"]?["history"] == nil, "absent history is left out, never null")
        #expect(body.current["content"]?.stringValue?.contains("--- USER MESSAGE BEGIN ---\nHello\n--- USER MESSAGE END ---") == true)
        #expect(body.current["modelId"] == "claude-sonnet-4.5")
        #expect(body.current["origin"] == "KIRO_CLI")
        #expect(body["profileArn"] == nil)
        #expect(body["conversationState"]?["chatTriggerType"] == "MANUAL")
    }

    @Test("consecutive user messages merge and keep every tool result (the infinite-loop fix)")
    func mergeKeepsToolResults() throws {
        let result = try plan(
            #"""
            {"model":"m","max_tokens":10,"messages":[
             {"role":"user","content":"go"},
             {"role":"assistant","content":[{"type":"tool_use","id":"a","name":"Read","input":{}},{"type":"tool_use","id":"b","name":"Read","input":{}}]},
             {"role":"user","content":[{"type":"tool_result","tool_use_id":"b","content":"B"}]},
             {"role":"user","content":[{"type":"tool_result","tool_use_id":"a","content":"A"}]},
             {"role":"user","content":"and then?"}]}
            """#)
        let current = result.body.current
        let ids = current["userInputMessageContext"]?["toolResults"]?.arrayValue?.compactMap { $0["toolUseId"]?.stringValue }
        #expect(ids == ["a", "b"], "results follow the order of the tool uses")
        #expect(current["content"]?.stringValue?.contains("and then?") == true)
        #expect(result.repairs.contains { $0.contains("merged") })
    }

    @Test("orphan tool uses get a neutral result and orphan results become text")
    func orphans() throws {
        let result = try plan(
            #"""
            {"model":"m","max_tokens":10,"messages":[
             {"role":"user","content":[{"type":"tool_result","tool_use_id":"ghost","content":"boo"},{"type":"text","text":"start"}]},
             {"role":"assistant","content":[{"type":"tool_use","id":"a","name":"Read","input":{}}]},
             {"role":"user","content":"no result sent"}]}
            """#)
        let first = result.body.history[0]["userInputMessage"]
        #expect(first?["userInputMessageContext"]?["toolResults"] == nil, "the first history message carries no tool results")
        #expect(first?["content"]?.stringValue?.contains("Tool result for ghost:\nboo") == true)
        let results = result.body.current["userInputMessageContext"]?["toolResults"]?.arrayValue
        #expect(results?.count == 1)
        #expect(results?.first?["status"] == "error")
        let text = results?.first?["content"]?[0]?["text"]?.stringValue ?? ""
        #expect(!text.lowercased().contains("cancel"), "never a text that says the tool was cancelled")
    }

    @Test("empty tool results say success, never cancelled")
    func emptyResults() throws {
        let result = try plan(
            #"""
            {"model":"m","max_tokens":10,"messages":[{"role":"user","content":"go"},
             {"role":"assistant","content":[{"type":"tool_use","id":"a","name":"Bash","input":{}}]},
             {"role":"user","content":[{"type":"tool_result","tool_use_id":"a","content":""}]}]}
            """#)
        let results = result.body.current["userInputMessageContext"]?["toolResults"]?.arrayValue
        #expect(results?.first?["content"]?[0]?["text"] == "Command executed successfully")
        #expect(result.body.current["content"] == "", "a tool-result-only turn has empty content")
    }

    @Test("a trailing assistant prefill is dropped")
    func prefillDropped() throws {
        let result = try plan(
            #"{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":"{"}]}"#)
        #expect(result.body.history.isEmpty)
        #expect(result.repairs.contains { $0.contains("prefill") })
    }

    @Test("the system prompt travels as a leading history pair, so tool-only turns keep it")
    func systemPrompt() throws {
        let result = try plan(
            #"""
            {"model":"m","max_tokens":10,"system":"Be terse.","messages":[{"role":"user","content":"go"},
             {"role":"assistant","content":[{"type":"tool_use","id":"a","name":"Bash","input":{}}]},
             {"role":"user","content":[{"type":"tool_result","tool_use_id":"a","content":"ok"}]}]}
            """#)
        let first = result.body.history[0]["userInputMessage"]?["content"]?.stringValue
        #expect(first == "--- SYSTEM PROMPT BEGIN ---\nBe terse.\n--- SYSTEM PROMPT END ---")
        #expect(result.body.history[1]["assistantResponseMessage"] != nil)
    }

    @Test("tool names the upstream refuses are shortened reversibly and schemas cleaned")
    func toolNames() throws {
        let longName = "mcp__github__" + String(repeating: "x", count: 80)
        let result = try plan(
            """
            {"model":"m","max_tokens":10,"tools":[
              {"name":"mcp__github__create-pull_request","description":"","input_schema":{"$schema":"http://json-schema.org/draft-07/schema#","type":"object","required":null,"properties":{"a":{"type":"string","default":null}}}},
              {"name":"\(longName)","description":"d","input_schema":{"type":"object"}}],
             "messages":[{"role":"user","content":"x"}]}
            """)
        let tools = result.body.current["userInputMessageContext"]?["tools"]?.arrayValue ?? []
        let names = tools.compactMap { $0["toolSpecification"]?["name"]?.stringValue }
        #expect(names[0] == "mcp__github__create_pull_request")
        #expect(names[1].count <= 64)
        for name in names { #expect(name.range(of: "^[a-zA-Z][a-zA-Z0-9_]*$", options: .regularExpression) != nil) }
        #expect(result.toolNames.clientName(for: names[1]) == longName)
        let schema = tools[0]["toolSpecification"]?["inputSchema"]?["json"]
        #expect(schema?["$schema"] == nil)
        #expect(schema?["required"] == nil)
        #expect(schema?["properties"]?["a"]?["default"] == nil)
        #expect(tools[0]["toolSpecification"]?["description"]?.stringValue?.isEmpty == false)
    }

    @Test("long tool descriptions are cut and their full text moved into the prompt")
    func longDescription() throws {
        let description = String(repeating: "word ", count: 2500)
        let result = try plan(
            #"{"model":"m","max_tokens":10,"tools":[{"name":"Big","description":"\#(description)","input_schema":{"type":"object"}}],"messages":[{"role":"user","content":"x"}]}"#
        )
        let sent = result.body.current["userInputMessageContext"]?["tools"]?[0]?["toolSpecification"]?["description"]?.stringValue ?? ""
        #expect(sent.count < 10_240)
        #expect(result.body.current["content"]?.stringValue?.hasPrefix("--- TOOL DOCUMENTATION BEGIN ---\nTool: Big") == true)
    }

    @Test("tool uses in history are declared even when the client sent no tools")
    func undeclaredHistoryTools() throws {
        let result = try plan(
            #"""
            {"model":"m","max_tokens":10,"messages":[{"role":"user","content":"go"},
             {"role":"assistant","content":[{"type":"tool_use","id":"a","name":"Bash","input":{}}]},
             {"role":"user","content":[{"type":"tool_result","tool_use_id":"a","content":"ok"}]}]}
            """#)
        let names = result.body.current["userInputMessageContext"]?["tools"]?.arrayValue?.compactMap { $0["toolSpecification"]?["name"]?.stringValue }
        #expect(names == ["Bash"])
    }

    @Test("two assistant messages in a row merge, and a duplicated tool use is dropped")
    func assistantMerge() throws {
        let result = try plan(
            #"""
            {"model":"m","max_tokens":10,"messages":[{"role":"user","content":"go"},
             {"role":"assistant","content":"part one"},{"role":"assistant","content":"part two"},
             {"role":"user","content":"next"}]}
            """#)
        #expect(result.body.history.count == 2)
        #expect(result.body.history[1]["assistantResponseMessage"]?["content"] == "part one\npart two")
    }

    @Test("history thinking becomes tagged text and the thinking hint ends the prompt")
    func thinking() throws {
        let result = try plan(
            #"""
            {"model":"m","max_tokens":10,"thinking":{"type":"enabled","budget_tokens":2048},"messages":[{"role":"user","content":"go"},
             {"role":"assistant","content":[{"type":"thinking","thinking":"deep","signature":"q2api-thinking-v1:0"},{"type":"text","text":"done"}]},
             {"role":"user","content":"next"}]}
            """#)
        #expect(result.body.history[1]["assistantResponseMessage"]?["content"] == "<thinking>deep</thinking>\ndone")
        #expect(
            result.body.current["content"]?.stringValue?.hasSuffix(
                "\n<thinking_mode>interleaved</thinking_mode><max_thinking_length>2048</max_thinking_length>") == true)
        #expect(result.thinkingRequested)
    }

    @Test("more than ten images keeps the newest ten")
    func imageLimit() throws {
        let image = #"{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}}"#
        let content = Array(repeating: image, count: 12).joined(separator: ",")
        let result = try plan(#"{"model":"m","max_tokens":10,"messages":[{"role":"user","content":[\#(content)]}]}"#)
        #expect(result.body.current["images"]?.arrayValue?.count == 10)
    }

    @Test("a prompt over the context limit is refused with Claude's wording")
    func contextLimit() throws {
        let text = String(repeating: "lorem ipsum ", count: 1000)
        #expect {
            _ = try plan(#"{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"\#(text)"}]}"#, maximumInputTokens: 100)
        } throws: { error in
            guard let error = error as? RequestError, case .promptTooLong = error.kind else { return false }
            return error.message.hasPrefix("prompt is too long: ") && error.message.hasSuffix(" tokens > 100 maximum")
        }
    }

    @Test("a conversation of only an assistant message is refused")
    func noUserMessage() {
        #expect(throws: RequestError.self) {
            _ = try plan(#"{"model":"m","max_tokens":10,"messages":[{"role":"assistant","content":"x"}]}"#)
        }
    }
}
