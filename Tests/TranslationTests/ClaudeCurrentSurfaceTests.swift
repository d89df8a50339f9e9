import ProxyModels
import Testing

@testable import Translation

/// The request surface of today's clients (anthropic SDK 2.x, Claude Code 2.1): what reaches the upstream.
@Suite("Claude requests of today's clients")
struct ClaudeCurrentSurfaceTests {
    func decode(_ text: String) throws -> Conversation {
        try ClaudeRequestDecoder.decode(try JSONParser.parse(text))
    }

    func rejection(_ text: String) -> RequestError? {
        do {
            _ = try ClaudeRequestDecoder.decode(try! JSONParser.parse(text))
            return nil
        } catch {
            return error
        }
    }

    @Test("Claude Code's system-role message reaches the model beside the prompt, outside the user envelope")
    func systemRoleMessageIsFolded() throws {
        let body = try plan(
            #"""
            {"model":"claude-opus-5-5","max_tokens":128000,
             "messages":[{"role":"user","content":[{"type":"text","text":"<system-reminder>r</system-reminder>"},{"type":"text","text":"List the files"}]},
                         {"role":"system","content":"Working directory: /tmp/project"}]}
            """#
        ).body
        let content = try #require(body.current["content"]?.stringValue)
        #expect(content.contains("--- USER MESSAGE BEGIN ---\n<system-reminder>r</system-reminder>\nList the files\n--- USER MESSAGE END ---"))
        #expect(content.hasSuffix("--- SYSTEM MESSAGE BEGIN ---\nWorking directory: /tmp/project\n--- SYSTEM MESSAGE END ---"))
        #expect(body.history.isEmpty)
    }

    @Test("a system-role message in history stays at its place in the user turn after it")
    func systemRoleMessageInHistory() throws {
        let body = try plan(
            #"""
            {"model":"m","max_tokens":10,"messages":[
              {"role":"user","content":"first"},
              {"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"Bash","input":{"command":"ls"}}]},
              {"role":"system","content":[{"type":"text","text":"Tools changed."}]},
              {"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"a.txt"}]},
              {"role":"assistant","content":"done"},
              {"role":"user","content":"next"}]}
            """#
        ).body
        let secondUser = try #require(body.history[2]["userInputMessage"])
        #expect(secondUser["content"]?.stringValue == "--- SYSTEM MESSAGE BEGIN ---\nTools changed.\n--- SYSTEM MESSAGE END ---")
        #expect(secondUser["userInputMessageContext"]?["toolResults"]?[0]?["toolUseId"] == "t1")
    }

    @Test("system messages take text blocks only")
    func systemMessageRejectsImages() {
        let error = rejection(
            #"{"model":"m","max_tokens":1,"messages":[{"role":"system","content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AA=="}}]}]}"#
        )
        #expect(error?.field == "messages.0.content.0")
    }

    @Test("thinking display, between_tools and effort")
    func thinkingVariants() throws {
        let omitted = try decode(
            #"{"model":"m","max_tokens":9,"messages":[{"role":"user","content":"x"}],"thinking":{"type":"adaptive","display":"omitted"},"output_config":{"effort":"low"}}"#
        )
        #expect(omitted.thinking == .adaptive)
        #expect(omitted.thinkingDisplay == .omitted)
        #expect(omitted.effort == .low)
        let between = try decode(#"{"model":"m","max_tokens":9,"messages":[{"role":"user","content":"x"}],"thinking":{"type":"between_tools"}}"#)
        #expect(between.thinking == .adaptive)
        #expect(
            rejection(#"{"model":"m","max_tokens":9,"messages":[{"role":"user","content":"x"}],"output_config":{"effort":"huge"}}"#)?.field
                == "output_config.effort")
        let low = try plan(
            #"{"model":"m","max_tokens":9,"messages":[{"role":"user","content":"x"}],"thinking":{"type":"adaptive"},"output_config":{"effort":"low"}}"#
        )
        #expect(low.body.current["content"]?.stringValue?.contains("<max_thinking_length>4000</max_thinking_length>") == true)
    }

    @Test("omitted thinking streams an empty thinking block that still carries its signature")
    func omittedThinkingKeepsSignature() {
        var translator = ReplyTranslator(.init(thinkingRequested: true, thinkingOmitted: true))
        var events = translator.handle(.text("<thinking>secret plan</thinking>Answer"))
        events += translator.finish()
        #expect(!events.contains { if case .thinkingDelta = $0 { true } else { false } })
        #expect(events.contains { if case .signatureDelta(_, let signature) = $0 { !signature.isEmpty } else { false } })
        #expect(events.contains { if case .textDelta(_, let text) = $0 { text.contains("Answer") } else { false } })
    }

    @Test("structured output: the schema reaches the model and the reply is held to it")
    func structuredOutput() throws {
        let schema =
            #"{"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer"}},"required":["city"],"additionalProperties":false}"#
        let conversation = try decode(
            #"{"model":"m","max_tokens":9,"messages":[{"role":"user","content":"x"}],"output_config":{"format":{"type":"json_schema","schema":"#
                + schema + "}}}")
        #expect(conversation.extraInstructions.first?.contains(#""required":["city"]"#) == true)
        let beta = try decode(
            #"{"model":"m","max_tokens":9,"messages":[{"role":"user","content":"x"}],"output_format":{"type":"json_schema","schema":{"type":"object"}}}"#
        )
        #expect(beta.responseSchema == ["type": "object"])

        let parsed = try JSONParser.parse(schema)
        #expect(
            StructuredOutput.conform("```json\n{\"city\": \"Paris\", \"days\": 3}\n```", to: parsed) == .success(#"{"city": "Paris", "days": 3}"#))
        #expect(StructuredOutput.conform(#"{"days": 3}"#, to: parsed) == .failure(.init(message: #"$: missing required property "city""#)))
        #expect(StructuredOutput.conform(#"{"city": "P", "days": 2.5}"#, to: parsed) == .failure(.init(message: "$.days: expected integer")))
        #expect(StructuredOutput.conform(#"{"city": "P", "x": 1}"#, to: parsed) == .failure(.init(message: #"$: unexpected property "x""#)))
        #expect(StructuredOutput.conform("Sure! Here it is", to: parsed) == .failure(.init(message: "the reply is not valid JSON")))
    }

    @Test("context_management clears old thinking and old tool results and reports it")
    func contextEdits() throws {
        let history = #"""
            "messages":[
              {"role":"user","content":"go"},
              {"role":"assistant","content":[{"type":"thinking","thinking":"first thoughts","signature":"s"},{"type":"tool_use","id":"a","name":"Read","input":{"p":1}}]},
              {"role":"user","content":[{"type":"tool_result","tool_use_id":"a","content":"AAAA AAAA AAAA AAAA AAAA AAAA AAAA AAAA"}]},
              {"role":"assistant","content":[{"type":"thinking","thinking":"second thoughts","signature":"s"},{"type":"tool_use","id":"b","name":"Read","input":{"p":2}}]},
              {"role":"user","content":[{"type":"tool_result","tool_use_id":"b","content":"BBBB"}]}]
            """#
        let result = try plan(
            #"{"model":"m","max_tokens":9,"# + history
                + #","context_management":{"edits":[{"type":"clear_thinking_20251015","keep":{"type":"thinking_turns","value":1}},{"type":"clear_tool_uses_20250919","trigger":{"type":"input_tokens","value":1},"keep":{"type":"tool_uses","value":1}}]}}"#
        )
        #expect(result.appliedEdits.count == 2)
        #expect(result.appliedEdits[0]["type"] == "clear_thinking_20251015")
        #expect(result.appliedEdits[0]["cleared_thinking_turns"] == .int(1))
        #expect(result.appliedEdits[1]["cleared_tool_uses"] == .int(1))
        let text = result.body.jsonString
        #expect(!text.contains("first thoughts"))
        #expect(text.contains("second thoughts"))
        #expect(!text.contains("AAAA"))
        #expect(text.contains("BBBB"))
        #expect(text.contains(ContextEditor.clearedToolResult))

        let keepAll = try plan(
            #"{"model":"m","max_tokens":9,"# + history + #","context_management":{"edits":[{"type":"clear_thinking_20251015","keep":"all"}]}}"#)
        #expect(keepAll.appliedEdits.isEmpty)
        #expect(
            rejection(
                #"{"model":"m","max_tokens":9,"messages":[{"role":"user","content":"x"}],"context_management":{"edits":[{"type":"compact_20260112"}]}}"#
            )?.field == "context_management.edits.0.type")
    }

    @Test("a deferred tool stays out of the upstream tool list until a tool_reference loads it")
    func deferredTools() throws {
        let tools =
            #""tools":[{"name":"ToolSearch","description":"find tools","input_schema":{"type":"object"}},{"name":"WebFetch","description":"fetch","input_schema":{"type":"object"},"defer_loading":true},{"name":"DeferredToolPlaceholder","description":"p","input_schema":{"type":"object"},"defer_loading":true}]"#
        func names(_ body: JSONValue) -> [String] {
            (body.current["userInputMessageContext"]?["tools"]?.arrayValue ?? []).compactMap { $0["toolSpecification"]?["name"]?.stringValue }
        }
        let before = try plan(#"{"model":"m","max_tokens":9,"messages":[{"role":"user","content":"fetch it"}],"# + tools + "}")
        #expect(names(before.body) == ["ToolSearch"])
        let after = try plan(
            #"""
            {"model":"m","max_tokens":9,"messages":[{"role":"user","content":"fetch it"},
              {"role":"assistant","content":[{"type":"tool_use","id":"s1","name":"ToolSearch","input":{"query":"select:WebFetch"}}]},
              {"role":"user","content":[{"type":"tool_result","tool_use_id":"s1","content":[{"type":"tool_reference","tool_name":"WebFetch"}]}]}],
            """# + tools + "}")
        #expect(names(after.body) == ["ToolSearch", "WebFetch"])
        #expect(after.body.current["userInputMessageContext"]?["toolResults"]?[0]?["content"]?[0]?["text"] == "Tool loaded: WebFetch")
        let searching = try plan(
            #"{"model":"m","max_tokens":9,"messages":[{"role":"user","content":"x"}],"tools":[{"type":"tool_search_tool_regex_20251119","name":"tool_search_tool_regex"},{"name":"WebFetch","description":"fetch","input_schema":{"type":"object"},"defer_loading":true}]}"#
        )
        #expect(names(searching.body) == ["WebFetch"])
        let placeholder = try plan(
            #"{"model":"m","max_tokens":9,"messages":[{"role":"user","content":"x"}],"tools":[{"type":"tool_search_tool_bm25_20251119","name":"s"},{"name":"DeferredToolPlaceholder","description":"p","input_schema":{"type":"object"},"defer_loading":true}]}"#
        )
        #expect(names(placeholder.body).isEmpty, "the placeholder never reaches the upstream")
    }

    @Test("versioned client tools get their published schemas; server tools are refused by type")
    func versionedTools() throws {
        let conversation = try decode(
            #"{"model":"m","max_tokens":9,"messages":[{"role":"user","content":"x"}],"tools":[{"type":"bash_20250124","name":"bash"},{"type":"text_editor_20250728","name":"str_replace_based_edit_tool"},{"type":"memory_20250818","name":"memory"}]}"#
        )
        #expect(conversation.tools.map(\.name) == ["bash", "str_replace_based_edit_tool", "memory"])
        #expect(conversation.tools[1].inputSchema["required"] == ["command", "path"])
        for type in ["web_search_20250305", "web_fetch_20250910", "code_execution_20250825", "computer_toolset_20260801"] {
            let error = rejection(
                #"{"model":"m","max_tokens":9,"messages":[{"role":"user","content":"x"}],"tools":[{"type":""# + type + #"","name":"t"}]}"#)
            #expect(error?.field == "tools.0.type")
            #expect(error?.message.contains(type) == true)
        }
    }

    @Test("content blocks reach the model as text or are refused by name")
    func contentBlocks() throws {
        let conversation = try decode(
            #"""
            {"model":"m","max_tokens":9,"messages":[
              {"role":"user","content":[{"type":"document","title":"Notes","source":{"type":"text","media_type":"text/plain","data":"The sky is green."}},
                {"type":"search_result","title":"Result","source":"https://example.com","content":[{"type":"text","text":"found it"}]}]},
              {"role":"assistant","content":[{"type":"server_tool_use","id":"srv","name":"web_search","input":{"query":"q"}},
                {"type":"web_search_tool_result","tool_use_id":"srv","content":[]},{"type":"redacted_thinking","data":"zzz"},{"type":"text","text":"ok"}]},
              {"role":"user","content":"next"}]}
            """#)
        guard case .text(let document) = conversation.messages[0].content[0] else { Issue.record("document"); return }
        #expect(document == "Document: Notes\nThe sky is green.")
        guard case .text(let search) = conversation.messages[0].content[1] else { Issue.record("search"); return }
        #expect(search.contains("found it") && search.contains("https://example.com"))
        #expect(conversation.messages[1].content.count == 3)

        let cases: [(String, String)] = [
            (#"{"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"JVBER"}}"#, "PDF"),
            (#"{"type":"document","source":{"type":"url","url":"https://x/y.pdf"}}"#, "URL"),
            (#"{"type":"image","source":{"type":"url","url":"https://x/y.png"}}"#, "URL"),
            (#"{"type":"image","source":{"type":"file","file_id":"f"}}"#, "file"),
            (#"{"type":"container_upload","file_id":"f"}"#, "container_upload"),
        ]
        for (block, word) in cases {
            let error = rejection(#"{"model":"m","max_tokens":9,"messages":[{"role":"user","content":["# + block + "]}]}")
            #expect(error?.message.contains(word) == true, "\(block)")
        }
        #expect(
            rejection(
                #"{"model":"m","max_tokens":9,"messages":[{"role":"user","content":"x"}],"mcp_servers":[{"type":"url","url":"https://m","name":"m"}]}"#
            )?.field == "mcp_servers")
    }

    @Test("serving-only fields are accepted and change nothing")
    func servingFieldsIgnored() throws {
        let plain = try plan(#"{"model":"m","max_tokens":9,"messages":[{"role":"user","content":"x"}]}"#).body
        let tuned = try plan(
            #"{"model":"m","max_tokens":9,"messages":[{"role":"user","content":"x"}],"service_tier":"auto","speed":"fast","inference_geo":"us","container":"c1","diagnostics":{},"user_profile_id":"u","workspace_id":"w","cache_control":{"type":"ephemeral"}}"#
        ).body
        #expect(plain == tuned)
    }

    @Test("omitted thinking comes back empty and signed, and its reasoning is restored from the signature on the next turn")
    func omittedThinkingRoundTrip() throws {
        var translator = ReplyTranslator(.init(thinkingRequested: true, thinkingOmitted: true))
        let events = translator.handle(.text("<thinking>plan: read the file</thinking>Done")) + translator.finish()
        let signature = try #require(events.compactMap { if case .signatureDelta(_, let s) = $0 { s } else { nil } }.first)
        #expect(signature.hasPrefix(ThinkingSignature.carryingPrefix))
        let replay = try plan(
            #"{"model":"m","max_tokens":9,"messages":[{"role":"user","content":"go"},{"role":"assistant","content":[{"type":"thinking","thinking":"","signature":""#
                + signature + #""},{"type":"text","text":"Done"}]},{"role":"user","content":"next"}]}"#)
        #expect(replay.body.jsonString.contains("plan: read the file"))
        // A tampered signature restores nothing.
        let tampered = ThinkingSignature.carryingPrefix + "A" + signature.dropFirst(ThinkingSignature.carryingPrefix.count)
        #expect(ThinkingSignature.carriedText(tampered) == nil)
    }

    @Test("a compaction block stands in for everything before it")
    func compactionReplacesHistory() throws {
        let body = try plan(
            #"""
            {"model":"m","max_tokens":9,"messages":[{"role":"user","content":"OLD-1"},{"role":"assistant","content":"OLD-2"},
              {"role":"user","content":"OLD-3"},{"role":"assistant","content":[{"type":"text","text":"OLD-4"},{"type":"compaction","content":"SUMMARY"}]},
              {"role":"user","content":"NEW"}]}
            """#
        ).body.jsonString
        #expect(!body.contains("OLD-"))
        #expect(body.contains("SUMMARY") && body.contains("NEW"))
        let failed = try plan(
            #"{"model":"m","max_tokens":9,"messages":[{"role":"user","content":"OLD-1"},{"role":"assistant","content":[{"type":"compaction","content":null}]},{"role":"user","content":"NEW"}]}"#
        ).body.jsonString
        #expect(failed.contains("OLD-1"), "a failed compaction (null content) replaces nothing")
    }

    @Test("a system message before the user's text goes before the envelope, one after it after")
    func systemMessagePositions() throws {
        let before = try #require(
            try plan(#"{"model":"m","max_tokens":9,"messages":[{"role":"system","content":"FIRST"},{"role":"user","content":"hello"}]}"#).body
                .current["content"]?.stringValue)
        #expect(before.hasPrefix("--- SYSTEM MESSAGE BEGIN ---\nFIRST"))
        let after = try #require(
            try plan(#"{"model":"m","max_tokens":9,"messages":[{"role":"user","content":"hello"},{"role":"system","content":"LAST"}]}"#).body.current[
                "content"]?.stringValue)
        #expect(after.hasSuffix("LAST\n--- SYSTEM MESSAGE END ---"))
    }

    @Test("a removed tool that history used is declared as gone, and an inline definition survives remove and re-add")
    func toolChanges() throws {
        let body = try plan(
            #"""
            {"model":"m","max_tokens":9,"tools":[{"name":"Bash","description":"run","input_schema":{"type":"object"}}],"messages":[
              {"role":"user","content":[{"type":"tool_addition","tool":{"type":"tool_definition","definition":{"name":"Fetch","description":"fetch a URL","input_schema":{"type":"object"}}}},{"type":"text","text":"go"}]},
              {"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"Bash","input":{}}]},
              {"role":"system","content":[{"type":"tool_removal","tool":{"type":"tool_reference","name":"Bash"}},{"type":"tool_removal","tool":{"type":"tool_reference","name":"Fetch"}}]},
              {"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"ok"},{"type":"tool_addition","tool":{"type":"tool_reference","name":"Fetch"}}]}]}
            """#
        ).body
        let specs = (body.current["userInputMessageContext"]?["tools"]?.arrayValue ?? []).compactMap { $0["toolSpecification"] }
        #expect(specs.first { $0["name"] == "Fetch" }?["description"] == "fetch a URL")
        #expect(specs.first { $0["name"] == "Bash" }?["description"]?.stringValue?.contains("no longer available") == true)
    }

    @Test("clear_tool_inputs as a list clears only those tools' inputs")
    func clearToolInputsList() throws {
        let result = try plan(
            #"""
            {"model":"m","max_tokens":9,"messages":[{"role":"user","content":"go"},
              {"role":"assistant","content":[{"type":"tool_use","id":"a","name":"Read","input":{"path":"KEEP-ME"}},{"type":"tool_use","id":"b","name":"Bash","input":{"command":"CLEAR-ME"}}]},
              {"role":"user","content":[{"type":"tool_result","tool_use_id":"a","content":"r1"},{"type":"tool_result","tool_use_id":"b","content":"r2"}]},
              {"role":"assistant","content":"ok"},{"role":"user","content":"next"}],
             "context_management":{"edits":[{"type":"clear_tool_uses_20250919","trigger":{"type":"tool_uses","value":0},"keep":{"type":"tool_uses","value":0},"clear_tool_inputs":["Bash"]}]}}
            """#)
        let text = result.body.jsonString
        #expect(text.contains("KEEP-ME"))
        #expect(!text.contains("CLEAR-ME"))
    }

    @Test("boolean subschemas and tuple items are valid schemas; numbers compare by value")
    func schemaDetails() throws {
        let schema = try JSONParser.parse(
            #"{"type":"object","properties":{"x":true,"pair":{"type":"array","items":[{"type":"string"},{"enum":[1]}]}},"required":["pair"]}"#)
        #expect(StructuredOutput.schemaProblem(schema) == nil)
        #expect(StructuredOutput.conform(#"{"pair":["a", 1.0], "x": 5}"#, to: schema) == .success(#"{"pair":["a", 1.0], "x": 5}"#))
        #expect(StructuredOutput.conform(#"{"pair":[2, 1]}"#, to: schema) == .failure(.init(message: "$.pair[0]: expected string")))
        #expect(StructuredOutput.schemaProblem(["type": "AAA"])?.field == "schema.type")
    }
}
