import ProxyModels

/// Renders a repaired ``UpstreamDraft`` into an Amazon Q `GenerateAssistantResponse` body through the request
/// template: the system prompt as a leading history pair, every turn but the last as history, and the last as the
/// current message, with its instructions, the tool documentation, the thinking hint and the tools.
///
/// The renderer repairs nothing the ``RepairPass``es can: it relies on them for alternating turns, paired tool
/// results, bounded tools and null-free JSON. It does what only rendered text can tell: a user turn whose text
/// renders empty gets ``UpstreamRequestBuilder/emptyPlaceholder``, and a prompt over the context limit is refused
/// with the wording clients compact on. The account's profile ARN and its kind's origin are filled in later, per
/// account (``UpstreamRequestPlan/body(profileARN:origin:)``); user messages are rendered with the default kind's origin.
///
/// ```swift
/// let plan = try UpstreamRequestRenderer(template: .builtIn, options: options).render(draft)
/// ```
package struct UpstreamRequestRenderer {
    let template: RequestTemplate
    let options: UpstreamRequestOptions

    package init(template: RequestTemplate, options: UpstreamRequestOptions) {
        self.template = template
        self.options = options
    }

    /// Renders the draft.
    ///
    /// - Throws: `RequestError` for a draft without a turn, or a prompt over ``UpstreamRequestOptions/maximumInputTokens``
    ///   (or over the upstream's character limit).
    package func render(_ draft: UpstreamDraft) throws(RequestError) -> UpstreamRequestPlan {
        var names = draft.toolNames
        var messages = draft.messages
        guard let current = messages.popLast() else {
            throw .invalid("messages", "the conversation must contain a user message")
        }
        var history = systemPromptPair(draft.conversation.system)
        for message in messages {
            history.append(message.role == .assistant ? assistantTurn(message, names: &names) : userTurn(message))
        }

        let parts = userParts(current)
        var content = currentContent(parts, instructions: draft.instructions, documentation: draft.toolDocumentation)
        let thinkingRequested = draft.conversation.thinking != nil
        if let hint = thinkingHint(draft.conversation) {
            content += content.isEmpty || content.hasSuffix("\n") ? hint : "\n" + hint
        }

        // Refuse early, with the wording clients compact on.
        let inputTokens = TokenEstimator.inputTokens(of: draft.conversation)
        if inputTokens > options.maximumInputTokens {
            throw .promptTooLong(tokens: inputTokens, maximum: options.maximumInputTokens)
        }
        if content.count > UpstreamRequestBuilder.maximumContentCharacters {
            throw .promptTooLong(tokens: max(inputTokens, TokenEstimator.tokens(in: content)), maximum: options.maximumInputTokens)
        }

        var tools: [JSONValue] = []
        for tool in draft.tools {
            tools.append(Self.toolSpecification(name: names.upstreamName(for: tool.name), description: tool.description, schema: tool.inputSchema))
        }
        let currentMessage = template.render(
            .userMessage,
            [
                "content": .string(content),
                "tools": tools.isEmpty ? nil : .array(tools),
                "tool_results": parts.results.isEmpty ? nil : .array(parts.results),
                "model_id": .string(options.modelID),
                "images": parts.images.isEmpty ? nil : .array(parts.images),
                "origin": .string(template.planningOrigin),
            ])
        let envelope: [String: JSONValue?] = [
            "conversation_id": .string(options.makeID()),
            "history": history.isEmpty ? nil : .array(history),
            "current_message": currentMessage,
            "model_id": .string(options.modelID),
        ]
        return UpstreamRequestPlan(
            repairs: draft.repairs, toolNames: names, inputTokens: inputTokens, thinkingRequested: thinkingRequested,
            appliedEdits: draft.appliedEdits, modelID: options.modelID, template: template, envelope: envelope)
    }

    // MARK: - History

    /// The system prompt as a leading history pair, as the CLI sends standing context, so that it also reaches
    /// the model on turns that carry only tool results; none for an empty prompt.
    func systemPromptPair(_ system: String) -> [JSONValue] {
        guard !system.trimmingWhitespace().isEmpty else { return [] }
        let text = template.renderText(.systemPrompt, ["system": .string(system)])
        let acknowledgement: [String: JSONValue?] = [
            "message_id": .string(options.makeID()), "content": .string(template.renderText(.systemAcknowledgement)),
        ]
        return [
            .object([
                JSONMember("userInputMessage", template.render(.userMessage, ["content": .string(text), "origin": .string(template.planningOrigin)]))
            ]),
            .object([JSONMember("assistantResponseMessage", template.render(.assistantMessage, acknowledgement))]),
        ]
    }

    func userTurn(_ message: Conversation.Message) -> JSONValue {
        let parts = userParts(message)
        let values: [String: JSONValue?] = [
            "content": .string(parts.inline.isEmpty && parts.results.isEmpty ? UpstreamRequestBuilder.emptyPlaceholder : parts.inline),
            "tool_results": parts.results.isEmpty ? nil : .array(parts.results),
            "images": parts.images.isEmpty ? nil : .array(parts.images),
            "origin": .string(template.planningOrigin),
        ]
        return .object([JSONMember("userInputMessage", template.render(.userMessage, values))])
    }

    func assistantTurn(_ message: Conversation.Message, names: inout ToolNameMap) -> JSONValue {
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
                        JSONMember("input", use.input),
                    ]))
            default: break
            }
        }
        let values: [String: JSONValue?] = [
            "message_id": .string(options.makeID()), "content": .string(texts.joined(separator: "\n")),
            "tool_uses": uses.isEmpty ? nil : .array(uses),
        ]
        return .object([JSONMember("assistantResponseMessage", template.render(.assistantMessage, values))])
    }

    // MARK: - The current message

    /// The content of the current message: the user's text and the draft's instructions in the user envelope, the
    /// instructions of folded system-role messages beside it, and the tool documentation before everything.
    func currentContent(_ parts: UserParts, instructions: [String], documentation: [String]) -> String {
        var text = parts.text
        if !instructions.isEmpty { text = ([text] + instructions).filter { !$0.isEmpty }.joined(separator: "\n\n") }
        var content = ""
        if !text.isEmpty || parts.results.isEmpty {
            let values: [String: JSONValue?] = [
                "text": .string(text.isEmpty ? UpstreamRequestBuilder.emptyPlaceholder : text), "time": .string(options.currentTime),
            ]
            content = template.renderText(.userContent, values)
        }
        if !parts.leadingInstructions.isEmpty || !parts.trailingInstructions.isEmpty {
            // Instructions from system-role messages stand beside the user's message, before or after it as they
            // came, not inside its envelope.
            content = (parts.leadingInstructions + [content] + parts.trailingInstructions).filter { !$0.isEmpty }.joined(separator: "\n\n")
        }
        if !documentation.isEmpty {
            content = "--- TOOL DOCUMENTATION BEGIN ---\n" + documentation.joined() + "--- TOOL DOCUMENTATION END ---\n\n" + content
        }
        return content
    }

    /// The thinking hint that ends the prompt when thinking is on: the upstream has no thinking parameter.
    func thinkingHint(_ conversation: Conversation) -> String? {
        guard let thinking = conversation.thinking else { return nil }
        let budget: Int
        switch thinking {
        case .enabled(let tokens): budget = min(max(tokens, 1024), 32_000)
        case .adaptive: budget = conversation.effort?.thinkingBudget ?? 16_000
        }
        return template.renderText(.thinkingHint, ["budget": .int(budget)])
    }

    static func toolSpecification(name: String, description: String, schema: JSONValue) -> JSONValue {
        [
            "toolSpecification": [
                "name": .string(name), "description": .string(description), "inputSchema": ["json": schema],
            ]
        ]
    }
}
