import ProxyModels

/// Reads a Claude Messages API request body into a `Conversation`.
///
/// It accepts everything Claude Code and the Anthropic SDKs send (`cache_control` anywhere,
/// `metadata`, betas, thinking blocks with signatures, …) and rejects only what cannot be
/// served, naming the field.
package enum ClaudeRequestDecoder {
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
        var messages: [Conversation.Message] = []
        messages.reserveCapacity(rawMessages.count)
        for (index, raw) in rawMessages.enumerated() {
            messages.append(try decodeMessage(raw, path: "messages.\(index)"))
        }

        let system = try decodeSystem(body["system"])
        let tools = try decodeTools(body["tools"])
        let toolChoice = try decodeToolChoice(body["tool_choice"])

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

        var thinking = try decodeThinking(body["thinking"], maxTokens: maxTokens)
        if thinking == nil, modelName.lowercased().hasSuffix("-thinking") {
            thinking = .enabled(budgetTokens: 16000)
        }

        var sessionKey: String?
        if let metadata = body["metadata"], !metadata.isNull {
            guard case .object = metadata else { throw .invalid("metadata", "must be an object") }
            sessionKey = metadata["user_id"]?.stringValue
        }

        return Conversation(
            model: modelName, system: system, messages: messages, tools: tools, toolChoice: toolChoice,
            maxTokens: maxTokens, stopSequences: stopSequences, thinking: thinking, stream: stream, sessionKey: sessionKey)
    }

    // MARK: - Parts

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

    static func decodeMessage(_ raw: JSONValue, path: String) throws(RequestError) -> Conversation.Message {
        guard case .object = raw else { throw .invalid(path, "must be an object") }
        guard let roleName = raw["role"]?.stringValue else { throw .invalid("\(path).role", "field required") }
        let role: Conversation.Role
        switch roleName {
        case "user": role = .user
        case "assistant": role = .assistant
        default: throw .invalid("\(path).role", "must be \"user\" or \"assistant\", got \"\(roleName)\"")
        }
        switch raw["content"] {
        case nil: throw .invalid("\(path).content", "field required")
        case .string(let text)?:
            return Conversation.Message(role: role, content: text.isEmpty ? [] : [.text(text)])
        case .array(let blocks)?:
            var content: [Conversation.ContentBlock] = []
            for (index, block) in blocks.enumerated() {
                if let decoded = try decodeBlock(block, role: role, path: "\(path).content.\(index)") {
                    content.append(decoded)
                }
            }
            return Conversation.Message(role: role, content: content)
        default:
            throw .invalid("\(path).content", "must be a string or an array of content blocks")
        }
    }

    static func decodeBlock(_ block: JSONValue, role: Conversation.Role, path: String) throws(RequestError) -> Conversation.ContentBlock? {
        guard case .object = block else { throw .invalid(path, "must be a content block object") }
        guard let type = block["type"]?.stringValue else { throw .invalid("\(path).type", "field required") }
        switch type {
        case "text":
            guard let text = block["text"]?.stringValue else { throw .invalid("\(path).text", "must be a string") }
            return .text(text)
        case "image":
            return .image(try decodeImage(block["source"], path: "\(path).source"))
        case "tool_use", "server_tool_use":
            guard let id = block["id"]?.stringValue, !id.isEmpty else { throw .invalid("\(path).id", "must be a non-empty string") }
            guard let name = block["name"]?.stringValue, !name.isEmpty else {
                throw .invalid("\(path).name", "must be a non-empty string")
            }
            let input = block["input"] ?? .object([])
            guard case .object = input else { throw .invalid("\(path).input", "must be an object") }
            return .toolUse(.init(id: id, name: name, input: input))
        case "tool_result", "web_search_tool_result":
            guard let id = block["tool_use_id"]?.stringValue, !id.isEmpty else {
                throw .invalid("\(path).tool_use_id", "must be a non-empty string")
            }
            var isError = block["is_error"]?.boolValue ?? false
            if block["status"]?.stringValue == "error" { isError = true }
            let parts = try decodeToolResultContent(block["content"], path: "\(path).content")
            return .toolResult(.init(toolUseId: id, content: parts, isError: isError))
        case "thinking":
            guard let text = block["thinking"]?.stringValue else { throw .invalid("\(path).thinking", "must be a string") }
            // The signature (ours or Anthropic's) is never forwarded: the upstream cannot check it.
            return text.isEmpty ? nil : .thinking(text)
        case "redacted_thinking":
            // Encrypted reasoning cannot be replayed to a different backend; it is dropped.
            return nil
        case "document":
            if let source = block["source"], source["type"]?.stringValue == "text", let data = source["data"]?.stringValue {
                return .text(data)
            }
            throw .invalid(path, "document blocks other than plain text are not supported by the upstream")
        default:
            if let text = block["text"]?.stringValue { return .text(text) }
            throw .invalid("\(path).type", "unsupported content block type \"\(type)\"")
        }
    }

    static func decodeImage(_ source: JSONValue?, path: String) throws(RequestError) -> Conversation.Image {
        guard let source, case .object = source else { throw .invalid(path, "field required") }
        switch source["type"]?.stringValue {
        case "base64":
            guard let mediaType = source["media_type"]?.stringValue else { throw .invalid("\(path).media_type", "field required") }
            guard let data = source["data"]?.stringValue, !data.isEmpty else { throw .invalid("\(path).data", "field required") }
            return try .validated(mediaType: mediaType, base64: data, mediaTypePath: "\(path).media_type", dataPath: "\(path).data")
        case "url":
            throw .invalid("\(path).type", "image URLs are not supported by the upstream; send the image as base64")
        case let other?:
            throw .invalid("\(path).type", "unsupported image source type \"\(other)\"")
        case nil:
            throw .invalid("\(path).type", "field required")
        }
    }

    static func decodeToolResultContent(_ value: JSONValue?, path: String) throws(RequestError) -> [Conversation.ToolResultPart] {
        switch value {
        case nil, .null?: return []
        case .string(let text)?: return text.isEmpty ? [] : [.text(text)]
        case .array(let items)?:
            var parts: [Conversation.ToolResultPart] = []
            for (index, item) in items.enumerated() {
                switch item {
                case .string(let text): parts.append(.text(text))
                case .object:
                    let type = item["type"]?.stringValue ?? "text"
                    if type == "image" {
                        parts.append(.image(try decodeImage(item["source"], path: "\(path).\(index).source")))
                    } else if let text = item["text"]?.stringValue {
                        parts.append(.text(text))
                    } else if type == "json", let json = item["json"] {
                        parts.append(.json(json))
                    } else if type == "document", let data = item["source"]?["data"]?.stringValue {
                        parts.append(.text(data))
                    } else {
                        parts.append(.json(item))
                    }
                default:
                    throw .invalid("\(path).\(index)", "must be a content block")
                }
            }
            return parts
        default:
            throw .invalid(path, "must be a string or an array of content blocks")
        }
    }

    static func decodeTools(_ value: JSONValue?) throws(RequestError) -> [Conversation.Tool] {
        var tools: [Conversation.Tool] = []
        for (path, item) in try RequestFields.objects(value, path: "tools") {
            guard let name = item["name"]?.stringValue, !name.isEmpty else { throw .invalid("\(path).name", "field required") }
            if let type = item["type"]?.stringValue, type != "custom", item["input_schema"] == nil {
                // Server tools (web_search, bash_20250124, …) have no schema; the upstream has no equivalent.
                tools.append(.init(name: name, description: "Server tool \(type)", inputSchema: ["type": "object"]))
                continue
            }
            let schema = item["input_schema"] ?? .object([JSONMember("type", "object")])
            guard case .object = schema else { throw .invalid("\(path).input_schema", "must be an object") }
            tools.append(.init(name: name, description: item["description"]?.stringValue ?? "", inputSchema: schema))
        }
        return tools
    }

    static func decodeToolChoice(_ value: JSONValue?) throws(RequestError) -> Conversation.ToolChoice {
        guard let value, !value.isNull else { return .auto }
        guard case .object = value, let type = value["type"]?.stringValue else {
            throw .invalid("tool_choice", "must be an object with a type")
        }
        switch type {
        case "auto": return .auto
        case "any": return .any
        case "none": return .none
        case "tool":
            guard let name = value["name"]?.stringValue, !name.isEmpty else { throw .invalid("tool_choice.name", "field required") }
            return .named(name)
        default: throw .invalid("tool_choice.type", "must be one of auto, any, tool, none")
        }
    }

    static func decodeThinking(_ value: JSONValue?, maxTokens: Int?) throws(RequestError) -> Conversation.Thinking? {
        guard let value, !value.isNull else { return nil }
        guard case .object = value, let type = value["type"]?.stringValue else {
            throw .invalid("thinking", "must be an object with a type")
        }
        switch type {
        case "enabled":
            guard let budget = value["budget_tokens"]?.intValue else { throw .invalid("thinking.budget_tokens", "field required") }
            guard budget >= 1024 else { throw .invalid("thinking.budget_tokens", "must be >= 1024") }
            return .enabled(budgetTokens: budget)
        case "adaptive": return .adaptive
        case "disabled": return nil
        default: throw .invalid("thinking.type", "must be one of enabled, adaptive, disabled")
        }
    }
}

