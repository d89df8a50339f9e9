import ProxyModels
import Testing

@testable import Translation

// MARK: - Helpers

private func user(_ blocks: Conversation.ContentBlock...) -> Conversation.Message { .init(role: .user, content: blocks) }
private func assistant(_ blocks: Conversation.ContentBlock...) -> Conversation.Message { .init(role: .assistant, content: blocks) }
private func use(_ id: String, _ name: String = "Read", input: JSONValue = [:]) -> Conversation.ContentBlock {
    .toolUse(.init(id: id, name: name, input: input))
}
private func result(_ id: String, _ text: String, isError: Bool = false) -> Conversation.ContentBlock {
    .toolResult(.init(toolUseID: id, content: [.text(text)], isError: isError))
}
private func tool(_ name: String, description: String = "d", schema: JSONValue = ["type": "object"], deferred: Bool = false) -> Conversation.Tool {
    .init(name: name, description: description, inputSchema: schema, deferLoading: deferred)
}

/// A draft of a conversation, as the passes get it.
private func draft(_ messages: Conversation.Message..., tools: [Conversation.Tool] = []) -> UpstreamDraft {
    UpstreamDraft(Conversation(model: "m", messages: messages, tools: tools))
}

/// Runs one pass on the draft and returns it.
private func repaired(_ draft: UpstreamDraft, by pass: some RepairPass) throws -> UpstreamDraft {
    var draft = draft
    try pass.apply(to: &draft)
    return draft
}

@Suite("Repair passes, one by one")
struct RepairPassTests {
    @Test("the passes run in their declared order, each once")
    func order() {
        let names = UpstreamRequestBuilder.passes.map(\.name)
        #expect(
            names == [
                "context-management", "fold-system-messages", "drop-trailing-prefill", "replay-thinking-as-text", "merge-consecutive-turns",
                "start-with-user-turn", "pair-tool-results", "remove-nulls", "limit-images", "apply-tool-changes", "leave-out-deferred-tools",
                "name-tools-for-upstream", "bound-tool-descriptions", "normalise-tool-schemas", "declare-tools-used-in-history",
                "tool-choice-as-instruction", "fill-empty-assistant-turns",
            ])
        #expect(Set(names).count == names.count)
    }

    @Test("context_management clears old thinking from the conversation itself, so it no longer counts as input")
    func contextManagement() throws {
        var start = draft(
            user(.text("go")), assistant(.thinking(String(repeating: "old ", count: 200)), .text("a")), user(.text("more")),
            assistant(.thinking("new"), .text("b")), user(.text("next")))
        start.conversation.contextEdits = [.clearThinking(type: "clear_thinking_20251015", keepTurns: 1)]
        let before = TokenEstimator.inputTokens(of: start.conversation)
        let after = try repaired(start, by: ApplyContextManagement())
        #expect(after.messages[1].content == [.text("a")], "the older turn's thinking is gone")
        #expect(after.messages[3].content == [.thinking("new"), .text("b")], "the last turn keeps its thinking")
        #expect(after.conversation.messages == after.messages)
        #expect(TokenEstimator.inputTokens(of: after.conversation) < before)
        #expect(after.appliedEdits.first?["cleared_thinking_turns"] == .int(1))
        #expect(after.repairs.first?.hasPrefix("context management: ") == true)
    }

    @Test("a system-role message becomes instructions in a user turn at its place")
    func systemMessages() throws {
        let change = Conversation.ToolChange(name: "Read", added: true)
        let system = Conversation.Message(role: .system, content: [.text("be brief"), .text("really"), .toolChange(change)])
        let after = try repaired(draft(user(.text("hi")), system, user(.text("go"))), by: FoldSystemMessages())
        #expect(after.messages.map(\.role) == [.user, .user, .user])
        #expect(after.messages[1].content == [.instruction("be brief\nreally"), .toolChange(change)])
        #expect(after.repairs == ["folded 1 system-role message(s) into the adjacent user turn"])
    }

    @Test("an assistant prefill at the end is dropped; a conversation with no user turn is refused")
    func prefill() throws {
        let after = try repaired(draft(user(.text("hi")), assistant(.text("{")), assistant(.text("\""))), by: DropTrailingPrefill())
        #expect(after.messages == [user(.text("hi"))])
        #expect(after.repairs == ["dropped 2 trailing assistant message(s) (prefill)"])
        #expect {
            _ = try repaired(draft(assistant(.text("x"))), by: DropTrailingPrefill())
        } throws: { error in
            (error as? RequestError)?.field == "messages"
        }
    }

    @Test("earlier reasoning reaches the model as tagged text; dropped redacted thinking is noted")
    func thinking() throws {
        var start = draft(user(.text("go")), assistant(.thinking("plan"), .text("done")), user(.text("next")))
        start.conversation.droppedRedactedThinking = 2
        let after = try repaired(start, by: ReplayThinkingAsText())
        #expect(after.messages[1].content == [.text("<thinking>plan</thinking>"), .text("done")])
        #expect(after.repairs.contains { $0.hasPrefix("dropped 2 redacted_thinking block(s)") })
        #expect(after.repairs.contains("turned 1 thinking block(s) in history into tagged text"))
    }

    @Test("two user messages in a row become one turn that keeps both messages' blocks")
    func merge() throws {
        let after = try repaired(
            draft(user(.text("go")), assistant(use("a"), use("b")), user(result("b", "B")), user(result("a", "A")), user(.text("and?"))),
            by: MergeConsecutiveTurns())
        #expect(after.messages.map(\.role) == [.user, .assistant, .user])
        #expect(after.messages[2].content == [result("b", "B"), result("a", "A"), .text("and?")])
        #expect(after.repairs == ["merged 2 consecutive same-role message(s)"])
    }

    @Test("a conversation that starts with the assistant gets a neutral user turn first")
    func leadingAssistant() throws {
        let after = try repaired(draft(assistant(.text("Hello, how can I help?")), user(.text("fix it"))), by: StartWithUserTurn())
        #expect(after.messages.map(\.role) == [.user, .assistant, .user])
        #expect(after.messages[0].content == [.text("(empty)")])
        #expect(try repaired(draft(user(.text("hi"))), by: StartWithUserTurn()).repairs.isEmpty, "a user-first conversation is left alone")
    }

    @Test("each tool use gets exactly one result, in the order of the uses; a stray result becomes text")
    func pairing() throws {
        let after = try repaired(
            draft(
                user(.text("go")), assistant(use("a"), use("b"), use("c")),
                user(result("b", "B"), result("a", "A1"), result("a", "A2", isError: true), result("z", "stray")),
                assistant(use("a"), .text("again")), user(.text("next"))),
            by: PairToolResults())
        let turn = after.messages[2].content
        #expect(turn.count == 4)
        #expect(turn[0] == .toolResult(.init(toolUseID: "a", content: [.text("A1"), .text("A2")], isError: true)), "duplicates merge")
        #expect(turn[1] == result("b", "B"))
        #expect(turn[2] == .toolResult(.init(toolUseID: "c", content: [.text(UpstreamRequestBuilder.missingResult)], isError: true)))
        #expect(turn[3] == .text("Tool result for z:\nstray"))
        #expect(after.messages[3].content == [.text("again")], "a tool use id resent from earlier history is dropped")
        #expect(!UpstreamRequestBuilder.missingResult.lowercased().contains("cancel"))
    }

    @Test("null members of tool inputs and JSON tool results are left out")
    func nulls() throws {
        let output = Conversation.ContentBlock.toolResult(.init(toolUseID: "a", content: [.json(["x": nil, "y": [1, nil]])], isError: false))
        let after = try repaired(
            draft(user(.text("go")), assistant(use("a", input: ["path": "f", "limit": nil])), user(output)), by: RemoveNulls())
        #expect(after.messages[1].content == [use("a", input: ["path": "f"])])
        #expect(after.messages[2].content == [.toolResult(.init(toolUseID: "a", content: [.json(["y": [1]])], isError: false))])
        #expect(after.repairs == ["removed null members from tool inputs in history"])
    }

    @Test("only the newest images are kept; older ones become a note")
    func images() throws {
        let image = Conversation.ContentBlock.image(.init(format: "png", base64: "AAAA"))
        let screenshot = Conversation.ContentBlock.toolResult(
            .init(toolUseID: "a", content: [.image(.init(format: "png", base64: "BBBB"))], isError: false))
        let after = try repaired(
            draft(user(image, .text("first")), assistant(use("a")), user(screenshot, image)), by: LimitImages(maximum: 2))
        #expect(after.messages[0].content == [.text("[image omitted: the upstream accepts at most 2 images per request]"), .text("first")])
        #expect(after.messages[2].content == [screenshot, image], "the newest two stay")
        #expect(after.repairs == ["omitted 1 older image(s) over the upstream's limit of 2"])
    }

    @Test("a tool removed mid-conversation is no longer declared; one added with its definition is")
    func toolChanges() throws {
        let added = tool("Fetch", description: "fetches")
        let after = try repaired(
            draft(
                user(.text("go"), .toolChange(.init(name: "Bash", added: false)), .toolChange(.init(name: "Fetch", added: true, definition: added))),
                tools: [tool("Read"), tool("Bash")]),
            by: ApplyToolChanges())
        #expect(after.tools.map(\.name) == ["Read", "Fetch"])
        #expect(after.removedTools == ["Bash"])
        #expect(after.repairs == ["applied 2 mid-conversation tool change(s)"])
    }

    @Test("deferred tools stay out until the conversation loads them; Claude Code's placeholder never goes")
    func deferredTools() throws {
        let tools = [
            tool("Bash"), tool("Read", deferred: true), tool("Grep", deferred: true),
            tool(UpstreamRequestBuilder.deferredToolPlaceholder, deferred: true),
        ]
        let loaded = Conversation.ContentBlock.toolResult(.init(toolUseID: "s", content: [.toolReference("Grep")], isError: false))
        let start = draft(user(.text("find")), assistant(use("s", "ToolSearch")), user(loaded), tools: tools)
        let after = try repaired(start, by: LeaveOutDeferredTools())
        #expect(after.tools.map(\.name) == ["Bash", "Grep"])
        #expect(after.repairs == ["left 1 deferred tool(s) out until a tool_reference loads them"])

        var searching = start
        searching.conversation.toolSearch = true
        #expect(try repaired(searching, by: LeaveOutDeferredTools()).tools.map(\.name) == ["Bash", "Read", "Grep"])
    }

    @Test("MCP tool names are rewritten for the upstream, reversibly, and a second definition is dropped")
    func names() throws {
        let after = try repaired(
            draft(user(.text("go")), tools: [tool("mcp__github__create-pull-request"), tool("Read"), tool("mcp__github__create-pull-request")]),
            by: NameToolsForUpstream())
        #expect(after.tools.map(\.name) == ["mcp__github__create-pull-request", "Read"], "tools keep the client's names")
        #expect(after.toolNames.clientName(for: "mcp__github__create_pull_request") == "mcp__github__create-pull-request")
        #expect(
            after.repairs == [
                "renamed tool \"mcp__github__create-pull-request\" to \"mcp__github__create_pull_request\" for the upstream",
                "dropped duplicate tool definition \"mcp__github__create-pull-request\"",
            ])
    }

    @Test("a tool without a description gets one; a long one is cut and its full text kept for the prompt")
    func descriptions() throws {
        let long = String(repeating: "word ", count: 2500)
        let after = try repaired(
            draft(user(.text("go")), tools: [tool("Empty", description: "  "), tool("Big", description: long)]), by: BoundToolDescriptions())
        #expect(after.tools[0].description == "Tool Empty")
        #expect(after.tools[1].description.count <= UpstreamRequestBuilder.maximumDescriptionLength)
        #expect(after.tools[1].description.hasSuffix("...(Full description provided in TOOL DOCUMENTATION section)"))
        #expect(after.toolDocumentation == ["Tool: Big\nFull Description:\n\(long.trimmingWhitespace())\n"])
        #expect(after.repairs.count == 2)
    }

    @Test("tool schemas lose $schema and nulls, and get a type")
    func schemas() throws {
        let schema: JSONValue = [
            "$schema": "http://json-schema.org/draft-07/schema#", "required": nil, "properties": ["a": ["type": "string", "default": nil]],
        ]
        let after = try repaired(draft(user(.text("go")), tools: [tool("T", schema: schema), tool("Clean")]), by: NormaliseToolSchemas())
        #expect(after.tools[0].inputSchema == ["type": "object", "properties": ["a": ["type": "string"]]])
        #expect(after.tools[1].inputSchema == ["type": "object"])
        #expect(after.repairs == ["normalised the input schema of tool \"T\""])
    }

    @Test("a tool history called but the request does not declare is declared, as gone when it was removed")
    func historyTools() throws {
        var start = draft(
            user(.text("go")), assistant(use("a", "Bash"), use("b", "Old"), use("c", "Read")), user(.text("next")), tools: [tool("Read")])
        start.removedTools = ["Old"]
        let after = try repaired(start, by: DeclareToolsUsedInHistory())
        #expect(after.tools.map(\.name) == ["Read", "Bash", "Old"])
        #expect(after.tools[1].description == "Tool Bash")
        #expect(after.tools[2].description == "The tool Old is no longer available; do not call it.")
        #expect(after.tools[2].inputSchema == ["type": "object"])
        #expect(after.repairs.count == 2)
    }

    @Test("tool_choice reaches the model as an instruction, naming the tool as the upstream knows it")
    func toolChoice() throws {
        var start = draft(user(.text("go")), tools: [tool("mcp__x__do-it")])
        start.conversation.toolChoice = .named("mcp__x__do-it")
        start = try repaired(start, by: NameToolsForUpstream())
        #expect(try repaired(start, by: ToolChoiceAsInstruction()).instructions == ["You must call the tool \"mcp__x__do_it\" in this reply."])
        start.conversation.toolChoice = .none
        #expect(try repaired(start, by: ToolChoiceAsInstruction()).instructions == ["Do not call any tools in this reply; answer with text only."])
        start.conversation.toolChoice = .auto
        #expect(try repaired(start, by: ToolChoiceAsInstruction()).instructions.isEmpty)
    }

    @Test("an empty assistant turn in history says (empty), never that something was cancelled")
    func emptyAssistant() throws {
        let after = try repaired(
            draft(user(.text("go")), assistant(.text("  ")), user(.text("again")), assistant(use("a")), user(result("a", "ok"))),
            by: FillEmptyAssistantTurns())
        #expect(after.messages[1].content == [.text("(empty)")])
        #expect(after.messages[3].content == [use("a")], "a turn of only tool uses is not empty")
        #expect(after.repairs == ["gave an empty assistant turn placeholder content"])
    }
}
