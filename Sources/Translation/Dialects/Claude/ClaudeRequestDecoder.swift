import ProxyModels

/// Reads a Claude Messages API request body into a `Conversation`.
///
/// The anthropic SDK's own request types are the checklist (`Tests/Conformance/test_sdk_surface.py` walks
/// them): every variant is either served or refused with a 400 that names it, never dropped in silence.
/// Fields that only tune how Anthropic serves a request (`service_tier`, `speed`, `inference_geo`,
/// `container`, `diagnostics`, `user_profile_id`, `workspace_id`, `cache_control`) are accepted and ignored.
package enum ClaudeRequestDecoder {
    /// Accepted and ignored: they tune how Anthropic serves a request, which has no meaning for Amazon Q.
    package static let servingFields = [
        "service_tier", "speed", "inference_geo", "container", "diagnostics", "user_profile_id", "workspace_id", "cache_control",
    ]

    package static func decode(_ body: JSONValue) throws(RequestError) -> Conversation {
        guard case .object = body else { throw .invalid("body", "the request body must be a JSON object") }
        guard let model = body["model"] else { throw .invalid("model", "field required") }
        guard let modelName = model.stringValue, !modelName.isEmpty else { throw .invalid("model", "must be a non-empty string") }

        var maxTokens: Int?
        if let value = body["max_tokens"], !value.isNull {
            guard let int = value.intValue, int >= 1 else { throw .invalid("max_tokens", "must be an integer >= 1") }
            maxTokens = int
        } else {
            throw .invalid("max_tokens", "field required")
        }

        guard let messagesValue = body["messages"] else { throw .invalid("messages", "field required") }
        guard let rawMessages = messagesValue.arrayValue else { throw .invalid("messages", "must be an array") }
        guard !rawMessages.isEmpty else { throw .invalid("messages", "at least one message is required") }
        // A `compaction` block stands in for everything before it (the API drops that part), so the history
        // starts at the last one that carries a summary.
        let start = ClaudeContentDecoder.lastCompaction(in: rawMessages)
        var messages: [Conversation.Message] = []
        messages.reserveCapacity(rawMessages.count - (start?.message ?? 0))
        for (index, raw) in rawMessages.enumerated() where index >= start?.message ?? 0 {
            let firstBlock = index == start?.message ? start?.block ?? 0 : 0
            messages.append(try ClaudeContentDecoder.decodeMessage(raw, path: "messages.\(index)", firstBlock: firstBlock))
        }

        if let servers = body["mcp_servers"], !servers.isNull, servers.arrayValue?.isEmpty != true {
            throw .invalid(
                "mcp_servers",
                "the MCP connector (mcp_servers) is not supported: Amazon Q cannot call remote MCP servers; "
                    + "connect the MCP server to your client instead")
        }

        if let thread = body["thread"], !thread.isNull {
            throw .invalid("thread", "server-held conversation state (thread) is not supported: send the whole conversation in messages")
        }
        if let compaction = body["compaction"], !compaction.isNull {
            throw .invalid(
                "compaction", "compaction requests are not supported: Amazon Q has no server-side compaction; summarize with an ordinary request")
        }

        let system = try decodeSystem(body["system"])
        let tools = try ClaudeToolDecoder.decodeTools(body["tools"])
        let toolChoice = try ClaudeToolDecoder.decodeToolChoice(body["tool_choice"])

        var stopSequences: [String] = []
        if let value = body["stop_sequences"], !value.isNull {
            guard let items = value.arrayValue else { throw .invalid("stop_sequences", "must be an array of strings") }
            for (index, item) in items.enumerated() {
                guard let string = item.stringValue else { throw .invalid("stop_sequences.\(index)", "must be a string") }
                if !string.isEmpty { stopSequences.append(string) }
            }
        }

        let stream = try RequestFields.bool(body["stream"], path: "stream")

        for key in ["temperature", "top_p"] {
            if let value = body[key], !value.isNull, value.doubleValue == nil { throw .invalid(key, "must be a number") }
        }
        if let value = body["top_k"], !value.isNull, value.intValue == nil { throw .invalid("top_k", "must be an integer") }

        var (thinking, display) = try ClaudeOptionsDecoder.decodeThinking(body["thinking"])
        if thinking == nil, modelName.lowercased().hasSuffix("-thinking") {
            thinking = .enabled(budgetTokens: 16000)
        }
        let output = try ClaudeOptionsDecoder.decodeOutputConfig(body["output_config"], path: "output_config")
        var responseSchema = output.schema
        if let schema = try ClaudeOptionsDecoder.decodeFormat(body["output_format"], path: "output_format") {
            responseSchema = responseSchema ?? schema
        }
        let edits = try ClaudeOptionsDecoder.decodeContextManagement(body["context_management"])

        var sessionKey: String?
        if let metadata = body["metadata"], !metadata.isNull {
            guard case .object = metadata else { throw .invalid("metadata", "must be an object") }
            sessionKey = metadata["user_id"]?.stringValue
        }

        var conversation = Conversation(
            model: modelName, system: system, messages: messages, tools: tools.tools, toolChoice: toolChoice,
            maxTokens: maxTokens, stopSequences: stopSequences, thinking: thinking, stream: stream, sessionKey: sessionKey)
        conversation.thinkingDisplay = display
        conversation.effort = output.effort
        conversation.toolSearch = tools.toolSearch
        conversation.contextEdits = edits
        conversation.ignoredFields = servingFields.filter { body[$0] != nil }
        conversation.droppedRedactedThinking = rawMessages.reduce(0) { count, message in
            count + (message["content"]?.arrayValue ?? []).count { $0["type"]?.stringValue == "redacted_thinking" }
        }
        if let responseSchema {
            conversation.responseSchema = responseSchema
            conversation.extraInstructions.append(StructuredOutput.instruction(for: responseSchema))
        }
        return conversation
    }

    static func decodeSystem(_ value: JSONValue?) throws(RequestError) -> String {
        switch value {
        case nil, .null?: return ""
        case .string(let text)?: return text
        case .array(let blocks)?:
            var texts: [String] = []
            for (index, block) in blocks.enumerated() {
                guard case .object = block else { throw .invalid("system.\(index)", "must be a text block") }
                let type = block["type"]?.stringValue ?? "text"
                guard type == "text", let text = block["text"]?.stringValue else {
                    throw .invalid("system.\(index)", "only text blocks are allowed in system")
                }
                texts.append(text)
            }
            return texts.joined(separator: "\n")
        default:
            throw .invalid("system", "must be a string or an array of text blocks")
        }
    }
}
