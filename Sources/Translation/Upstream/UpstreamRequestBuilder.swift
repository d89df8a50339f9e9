import ProxyModels

/// What the payload builder needs besides the conversation.
package struct UpstreamRequestOptions {
    /// The upstream model id (already resolved from the client's name).
    package var modelID: String
    /// Organisation accounts only; `nil` leaves `profileArn` out.
    package var profileARN: String?
    /// Estimated input tokens above this are refused with Claude's "prompt is too long" wording.
    package var maximumInputTokens: Int
    /// The text of `{{time}}` (injected so golden files are stable).
    package var currentTime: String
    /// A fresh UUID per call (injected so golden files are stable).
    package var makeID: () -> String

    package init(modelID: String, profileARN: String? = nil, maximumInputTokens: Int = 200_000, currentTime: String, makeID: @escaping () -> String) {
        self.modelID = modelID
        self.profileARN = profileARN
        self.maximumInputTokens = maximumInputTokens
        self.currentTime = currentTime
        self.makeID = makeID
    }
}

/// The upstream request a conversation became, with what was changed on the way.
package struct UpstreamRequestPlan: Sendable {
    package var body: JSONValue
    /// Human-readable notes of every repair applied (`q2api explain` prints them; debug logs count them).
    package var repairs: [String]
    package var toolNames: ToolNameMap
    package var inputTokens: Int
    /// Whether the reply's `<thinking>` text is to be split into thinking blocks.
    package var thinkingRequested: Bool
    /// Claude `context_management.applied_edits`: what `ContextEditor` cleared from the history.
    package var appliedEdits: [JSONValue] = []
    /// The upstream model id the body names.
    package var modelID = ""
}

/// Turns a `Conversation` into an Amazon Q `GenerateAssistantResponse` body, repairing every
/// request shape the upstream rejects (AMAZON_Q.md §2.9, §9) so it never answers
/// "Improperly formed request" for something the client considers valid.
package enum UpstreamRequestBuilder {
    /// Upstream limits (AMAZON_Q.md §2.13).
    package static let maximumImages = 10
    package static let maximumDescriptionLength = 10_240
    package static let truncatedDescriptionLength = 10_100
    package static let maximumContentCharacters = 600_000
    /// Text used where the upstream requires content and the client sent none. It is neutral on
    /// purpose: a text that says a tool was cancelled makes the model retry forever.
    package static let emptyPlaceholder = "(empty)"
    package static let emptySuccessResult = "Command executed successfully"
    package static let emptyErrorResult = "The tool reported an error without output."
    package static let missingResult = "No result was provided for this tool call."
    /// The deferred tool Claude Code declares to mark that deferred tools exist (CLIENTS.md).
    package static let deferredToolPlaceholder = "DeferredToolPlaceholder"

    package static func build(
        _ conversation: Conversation, template: RequestTemplate = .builtIn, options: UpstreamRequestOptions
    ) throws(RequestError) -> UpstreamRequestPlan {
        var repairs: [String] = []
        var conversation = conversation
        let appliedEdits = ContextEditor.apply(&conversation)
        for edit in appliedEdits { repairs.append("context management: \(edit.jsonString)") }

        // 0. System-role messages (Claude Code 2.1 sends them) become instructions in a user turn at the same
        // point; step 3 merges them into the adjacent user turn. The upstream has no system role.
        var messages = conversation.messages.map { message -> Conversation.Message in
            guard message.role == .system else { return message }
            let text = message.content.compactMap { if case .text(let t) = $0 { t } else { nil } }.joined(separator: "\n")
            let changes = message.content.filter { if case .toolChange = $0 { true } else { false } }
            return .init(role: .user, content: (text.isEmpty ? [] : [.instruction(text)]) + changes)
        }
        let systemMessages = conversation.messages.count { $0.role == .system }
        if systemMessages > 0 { repairs.append("folded \(systemMessages) system-role message(s) into the adjacent user turn") }
        if conversation.droppedRedactedThinking > 0 {
            repairs.append("dropped \(conversation.droppedRedactedThinking) redacted_thinking block(s): only Anthropic's models can read them")
        }

        // 1. A trailing assistant turn (prefill) is deprecated for Claude 4 and unsupported upstream.
        var dropped = 0
        while let last = messages.last, last.role == .assistant {
            messages.removeLast()
            dropped += 1
        }
        if dropped > 0 { repairs.append("dropped \(dropped) trailing assistant message(s) (prefill)") }
        guard !messages.isEmpty else {
            throw .invalid("messages", "the conversation must contain a user message")
        }

        // 2. Thinking from earlier turns goes back as tagged text: signatures cannot be checked upstream.
        var thinkingBlocks = 0
        for index in messages.indices {
            messages[index].content = messages[index].content.map { block in
                guard case .thinking(let text) = block else { return block }
                thinkingBlocks += 1
                return .text("<thinking>\(text)</thinking>")
            }
        }
        if thinkingBlocks > 0 { repairs.append("turned \(thinkingBlocks) thinking block(s) in history into tagged text") }

        // 3. Strict alternation: merge runs of same-role messages, keeping every block.
        var merged: [Conversation.Message] = []
        var merges = 0
        for message in messages {
            if let last = merged.last, last.role == message.role {
                merged[merged.count - 1].content += message.content
                merges += 1
            } else {
                merged.append(message)
            }
        }
        if merges > 0 { repairs.append("merged \(merges) consecutive same-role message(s)") }
        messages = merged
        if messages.first?.role == .assistant {
            messages.insert(.init(role: .user, content: [.text(emptyPlaceholder)]), at: 0)
            repairs.append("added a user turn before a leading assistant message")
        }

        // 4. Pair tool results with the tool uses of the assistant turn right before them.
        pairToolResults(&messages, repairs: &repairs)

        // The upstream rejects explicit nulls anywhere; a null member of a tool input means "absent".
        if messages.contains(where: { $0.content.contains { if case .toolUse(let use) = $0 { use.input != use.input.removingNulls() } else { false } } }) {
            repairs.append("removed null members from tool inputs in history")
        }

        // 5. Images: the upstream takes at most 10 per request; keep the newest.
        limitImages(&messages, repairs: &repairs)

        // 6. Tools: names the upstream accepts, normalised schemas, bounded descriptions.
        var names = ToolNameMap()
        var toolSpecs: [JSONValue] = []
        var documentation: [String] = []
        var declared = Set<String>()
        // Deferred tools (`defer_loading`) stay out until a `tool_reference` loads them or history uses them;
        // with a tool-search tool declared, the upstream gets them all, since it cannot search.
        var loaded = Set<String>()
        // Mid-conversation tool changes (`tool_addition`, `tool_removal`): the last change of a tool decides.
        var changes: [String: Conversation.ToolChange] = [:]
        var definitions: [String: Conversation.Tool] = [:]
        for message in messages {
            for block in message.content {
                switch block {
                case .toolUse(let use): loaded.insert(use.name)
                case .toolResult(let result):
                    for case .toolReference(let name) in result.content { loaded.insert(name) }
                case .toolChange(let change):
                    changes[change.name] = change
                    if let definition = change.definition { definitions[change.name] = definition }
                default: break
                }
            }
        }
        var tools = conversation.tools
        for change in changes.values.sorted(by: { $0.name < $1.name }) where change.added {
            loaded.insert(change.name)
            if let definition = definitions[change.name], !tools.contains(where: { $0.name == change.name }) { tools.append(definition) }
        }
        let removed = Set(changes.values.filter { !$0.added }.map(\.name))
        if !changes.isEmpty { repairs.append("applied \(changes.count) mid-conversation tool change(s)") }
        var deferredLeftOut = 0
        for tool in tools where !removed.contains(tool.name) {
            // Claude Code's placeholder only stands for "there are deferred tools"; it is never a tool to call.
            if tool.name == deferredToolPlaceholder && tool.deferLoading { continue }
            if tool.deferLoading && !conversation.toolSearch && !loaded.contains(tool.name) {
                deferredLeftOut += 1
                continue
            }
            let upstreamName = names.upstreamName(for: tool.name)
            guard declared.insert(upstreamName).inserted else {
                repairs.append("dropped duplicate tool definition \"\(tool.name)\"")
                continue
            }
            if upstreamName != tool.name { repairs.append("renamed tool \"\(tool.name)\" to \"\(upstreamName)\" for the upstream") }
            var description = tool.description.trimmingWhitespace()
            if description.isEmpty {
                description = "Tool \(tool.name)"
                repairs.append("gave tool \"\(tool.name)\" a description (the upstream requires one)")
            } else if description.count > maximumDescriptionLength {
                documentation.append("Tool: \(upstreamName)\nFull Description:\n\(description)\n")
                description = String(description.prefix(truncatedDescriptionLength))
                    + "\n\n...(Full description provided in TOOL DOCUMENTATION section)"
                repairs.append("shortened the description of tool \"\(tool.name)\" (full text moved into the prompt)")
            }
            let schema = SchemaNormaliser.normalise(tool.inputSchema)
            if schema != tool.inputSchema { repairs.append("normalised the input schema of tool \"\(tool.name)\"") }
            toolSpecs.append(toolSpecification(name: upstreamName, description: description, schema: schema))
        }
        if deferredLeftOut > 0 { repairs.append("left \(deferredLeftOut) deferred tool(s) out until a tool_reference loads them") }
        // Tool uses in history must name a declared tool, or the upstream rejects the request.
        for message in messages {
            for case .toolUse(let use) in message.content {
                let upstreamName = names.upstreamName(for: use.name)
                if declared.insert(upstreamName).inserted {
                    // The upstream refuses history that calls an undeclared tool; a removed one says it is gone.
                    let description = removed.contains(use.name) ? "The tool \(use.name) is no longer available; do not call it." : "Tool \(use.name)"
                    toolSpecs.append(toolSpecification(name: upstreamName, description: description, schema: ["type": "object"]))
                    repairs.append("declared tool \"\(use.name)\" used in history but missing from tools")
                }
            }
        }

        // 7. History: every turn but the last, which becomes the current message.
        var history: [JSONValue] = []
        if !conversation.system.trimmingWhitespace().isEmpty {
            // Sent as a leading history pair, as the CLI does for standing context, so the system
            // prompt also reaches the model on turns that carry only tool results.
            let systemText = template.renderText(.systemPrompt, ["system": .string(conversation.system)])
            history.append(.object([JSONMember("userInputMessage", template.render(.userMessage, ["content": .string(systemText)]))]))
            history.append(
                .object([
                    JSONMember(
                        "assistantResponseMessage",
                        template.render(
                            .assistantMessage,
                            ["message_id": .string(options.makeID()), "content": .string(template.renderText(.systemAcknowledgement))]))
                ]))
        }
        let current = messages.removeLast()
        for message in messages {
            switch message.role {
            case .user:
                let parts = userParts(message, template: template)
                let text = parts.inline
                history.append(
                    .object([
                        JSONMember(
                            "userInputMessage",
                            template.render(
                                .userMessage,
                                [
                                    "content": .string(text.isEmpty && parts.results.isEmpty ? emptyPlaceholder : text),
                                    "tool_results": parts.results.isEmpty ? nil : .array(parts.results),
                                    "images": parts.images.isEmpty ? nil : .array(parts.images),
                                ]))
                    ]))
            case .assistant, .system:
                var texts: [String] = []
                var uses: [JSONValue] = []
                for block in message.content {
                    switch block {
                    case .text(let text): texts.append(text)
                    case .toolChange(let change): texts.append(change.note)
                    case .toolUse(let use):
                        uses.append(
                            .object([
                                JSONMember("toolUseId", .string(use.id)), JSONMember("name", .string(names.upstreamName(for: use.name))),
                                JSONMember("input", use.input.removingNulls()),
                            ]))
                    default: break
                    }
                }
                var text = texts.joined(separator: "\n")
                if text.trimmingWhitespace().isEmpty && uses.isEmpty {
                    text = emptyPlaceholder
                    repairs.append("gave an empty assistant turn placeholder content")
                }
                history.append(
                    .object([
                        JSONMember(
                            "assistantResponseMessage",
                            template.render(
                                .assistantMessage,
                                [
                                    "message_id": .string(options.makeID()), "content": .string(text),
                                    "tool_uses": uses.isEmpty ? nil : .array(uses),
                                ]))
                    ]))
            }
        }

        // 8. The current message: the user's text in the envelope, instructions, the thinking hint.
        let parts = userParts(current, template: template)
        var text = parts.text
        var instructions = conversation.extraInstructions
        switch conversation.toolChoice {
        case .auto: break
        case .none: instructions.append("Do not call any tools in this reply; answer with text only.")
        case .any: instructions.append("You must call at least one of the available tools in this reply.")
        case .named(let name): instructions.append("You must call the tool \"\(names.upstreamName(for: name))\" in this reply.")
        }
        if !instructions.isEmpty { text = ([text] + instructions).filter { !$0.isEmpty }.joined(separator: "\n\n") }
        var content: String
        if text.isEmpty && !parts.results.isEmpty {
            content = ""
        } else {
            content = template.renderText(.userContent, ["text": .string(text.isEmpty ? emptyPlaceholder : text), "time": .string(options.currentTime)])
        }
        if !parts.leadingInstructions.isEmpty || !parts.trailingInstructions.isEmpty {
            // Instructions from system-role messages stand beside the user's message, before or after it as they
            // came, not inside its envelope.
            content = (parts.leadingInstructions + [content] + parts.trailingInstructions).filter { !$0.isEmpty }.joined(separator: "\n\n")
        }
        if !documentation.isEmpty {
            content = "--- TOOL DOCUMENTATION BEGIN ---\n" + documentation.joined() + "--- TOOL DOCUMENTATION END ---\n\n" + content
        }
        var thinkingRequested = false
        if let thinking = conversation.thinking {
            thinkingRequested = true
            let budget: Int
            switch thinking {
            case .enabled(let tokens): budget = min(max(tokens, 1024), 32_000)
            case .adaptive: budget = conversation.effort?.thinkingBudget ?? 16_000
            }
            let hint = template.renderText(.thinkingHint, ["budget": .int(budget)])
            content += content.isEmpty || content.hasSuffix("\n") ? hint : "\n" + hint
        }

        // 9. Size checks: refuse early with the wording clients compact on.
        let inputTokens = TokenEstimator.inputTokens(of: conversation)
        if inputTokens > options.maximumInputTokens {
            throw .promptTooLong(tokens: inputTokens, maximum: options.maximumInputTokens)
        }
        if content.count > maximumContentCharacters {
            throw .promptTooLong(tokens: max(inputTokens, TokenEstimator.tokens(in: content)), maximum: options.maximumInputTokens)
        }

        let currentMessage = template.render(
            .userMessage,
            [
                "content": .string(content),
                "tools": toolSpecs.isEmpty ? nil : .array(toolSpecs),
                "tool_results": parts.results.isEmpty ? nil : .array(parts.results),
                "model_id": .string(options.modelID),
                "images": parts.images.isEmpty ? nil : .array(parts.images),
            ])
        let body = template.render(
            .request,
            [
                "conversation_id": .string(options.makeID()),
                "history": history.isEmpty ? nil : .array(history),
                "current_message": currentMessage,
                "profile_arn": options.profileARN.flatMap { $0.isEmpty ? nil : .string($0) },
                "model_id": .string(options.modelID),
            ])
        return UpstreamRequestPlan(
            body: body, repairs: repairs, toolNames: names, inputTokens: inputTokens, thinkingRequested: thinkingRequested,
            appliedEdits: appliedEdits, modelID: options.modelID)
    }

    // MARK: - Steps

    static func toolSpecification(name: String, description: String, schema: JSONValue) -> JSONValue {
        [
            "toolSpecification": [
                "name": .string(name), "description": .string(description), "inputSchema": ["json": schema],
            ]
        ]
    }

    /// Makes every user turn carry exactly one result per tool use of the assistant turn before it,
    /// in the order of those uses; results with no matching use become text.
    static func pairToolResults(_ messages: inout [Conversation.Message], repairs: inout [String]) {
        var seenUseIDs = Set<String>()
        for index in messages.indices {
            switch messages[index].role {
            case .assistant:
                // A tool use id repeated from earlier history (a client resend) is dropped.
                messages[index].content = messages[index].content.filter { block in
                    guard case .toolUse(let use) = block else { return true }
                    if seenUseIDs.insert(use.id).inserted { return true }
                    repairs.append("dropped repeated tool use \(use.id)")
                    return false
                }
            case .user, .system:
                var expected: [Conversation.ToolUse] = []
                if index > 0 {
                    for case .toolUse(let use) in messages[index - 1].content { expected.append(use) }
                }
                let expectedIDs = Set(expected.map(\.id))
                var results: [String: Conversation.ToolResult] = [:]
                var others: [Conversation.ContentBlock] = []
                for block in messages[index].content {
                    guard case .toolResult(let result) = block else {
                        others.append(block)
                        continue
                    }
                    if expectedIDs.contains(result.toolUseID) {
                        if var existing = results[result.toolUseID] {
                            existing.content += result.content
                            existing.isError = existing.isError || result.isError
                            results[result.toolUseID] = existing
                            repairs.append("merged duplicate results for tool use \(result.toolUseID)")
                        } else {
                            results[result.toolUseID] = result
                        }
                    } else {
                        others.append(.text("Tool result for \(result.toolUseID):\n" + resultText(result)))
                        repairs.append("turned the result for unknown tool use \(result.toolUseID) into text")
                    }
                }
                var ordered: [Conversation.ContentBlock] = []
                for use in expected {
                    if let result = results[use.id] {
                        ordered.append(.toolResult(result))
                    } else {
                        ordered.append(.toolResult(.init(toolUseID: use.id, content: [.text(missingResult)], isError: true)))
                        repairs.append("added a result for tool use \(use.id), which had none")
                    }
                }
                messages[index].content = ordered + others
            }
        }
    }

    static func resultText(_ result: Conversation.ToolResult) -> String {
        result.content.compactMap { part -> String? in
            switch part {
            case .text(let text): text
            case .json(let json): json.jsonString
            case .image: nil
            case .toolReference(let name): "Tool loaded: \(name)"
            }
        }.joined(separator: "\n")
    }

    static func limitImages(_ messages: inout [Conversation.Message], repairs: inout [String]) {
        var remaining = maximumImages
        var dropped = 0
        for index in messages.indices.reversed() {
            messages[index].content = messages[index].content.reversed().map { block -> Conversation.ContentBlock in
                switch block {
                case .image:
                    if remaining > 0 {
                        remaining -= 1
                        return block
                    }
                    dropped += 1
                    return .text("[image omitted: the upstream accepts at most \(maximumImages) images per request]")
                case .toolResult(var result):
                    result.content = result.content.reversed().map { part in
                        guard case .image = part else { return part }
                        if remaining > 0 {
                            remaining -= 1
                            return part
                        }
                        dropped += 1
                        return .text("[image omitted]")
                    }.reversed()
                    return .toolResult(result)
                default:
                    return block
                }
            }.reversed()
        }
        if dropped > 0 { repairs.append("omitted \(dropped) older image(s) over the upstream's limit of \(maximumImages)") }
    }

    /// A user turn in upstream shape.
    struct UserParts {
        /// The user's own text (what goes in the envelope of the current message).
        var text: String
        var results: [JSONValue]
        var images: [JSONValue]
        /// Folded system-role messages, rendered, that come before any of the user's text, and after it.
        var leadingInstructions: [String]
        var trailingInstructions: [String]
        /// Text and instructions in their order, for a history turn.
        var inline: String
    }

    /// The text, tool results and images of a user turn; the instructions of folded system-role messages keep
    /// their place relative to the user's text.
    static func userParts(_ message: Conversation.Message, template: RequestTemplate) -> UserParts {
        var texts: [String] = []
        var leading: [String] = []
        var trailing: [String] = []
        var inline = ""
        var lastWasInstruction = false
        func appendInline(_ piece: String, instruction: Bool) {
            if !inline.isEmpty { inline += instruction || lastWasInstruction ? "\n\n" : "\n" }
            inline += piece
            lastWasInstruction = instruction
        }
        var results: [JSONValue] = []
        var images: [JSONValue] = []
        for block in message.content {
            switch block {
            case .text(let text):
                if !text.isEmpty {
                    texts.append(text)
                    appendInline(text, instruction: false)
                }
            case .instruction(let text):
                let rendered = template.renderText(.systemMessage, ["text": .string(text)])
                if texts.isEmpty { leading.append(rendered) } else { trailing.append(rendered) }
                appendInline(rendered, instruction: true)
            case .image(let image): images.append(imageValue(image))
            case .toolResult(let result):
                var content: [JSONValue] = []
                for part in result.content {
                    switch part {
                    case .text(let text): if !text.trimmingWhitespace().isEmpty { content.append(["text": .string(text)]) }
                    case .json(let json): content.append(["json": json.removingNulls()])
                    case .image(let image): images.append(imageValue(image))
                    case .toolReference(let name): content.append(["text": .string("Tool loaded: \(name)")])
                    }
                }
                if content.isEmpty {
                    content = [["text": .string(result.isError ? emptyErrorResult : emptySuccessResult)]]
                }
                results.append(
                    [
                        "toolUseId": .string(result.toolUseID), "content": .array(content),
                        "status": .string(result.isError ? "error" : "success"),
                    ])
            case .toolChange(let change):
                texts.append(change.note)
                appendInline(change.note, instruction: false)
            case .toolUse, .thinking: break
            }
        }
        return UserParts(
            text: texts.joined(separator: "\n"), results: results, images: images, leadingInstructions: leading, trailingInstructions: trailing,
            inline: inline)
    }

    static func imageValue(_ image: Conversation.Image) -> JSONValue {
        ["format": .string(image.format), "source": ["bytes": .string(image.base64)]]
    }
}

extension String {
    package func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let start = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let end = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[start...end])
    }
}
