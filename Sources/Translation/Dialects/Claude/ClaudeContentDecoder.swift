import ProxyModels

/// Messages and content blocks of a Claude request.
///
/// The upstream takes text, base64 images, tool uses and tool results. Everything else a client may send is
/// rendered into one of those so that the model still reads it (documents, search results, the server tools'
/// calls and results in history, `tool_reference`), or refused with a 400 naming the block when its content
/// cannot reach the model (URL and Files API sources, PDFs, `container_upload`).
enum ClaudeContentDecoder {
    /// Result blocks of Anthropic's server tools, which can appear in a replayed history.
    static let serverToolResultTypes: Set<String> = [
        "web_search_tool_result", "web_fetch_tool_result", "code_execution_tool_result", "bash_code_execution_tool_result",
        "text_editor_code_execution_tool_result", "tool_search_tool_result", "mcp_tool_result", "advisor_tool_result",
    ]

    /// The position of the last `compaction` block that carries a summary (`content` null marks a failed one).
    static func lastCompaction(in messages: [JSONValue]) -> (message: Int, block: Int)? {
        for (index, message) in messages.enumerated().reversed() {
            guard let blocks = message["content"]?.arrayValue else { continue }
            if let block = blocks.lastIndex(where: { $0["type"]?.stringValue == "compaction" && !($0["content"]?.stringValue ?? "").isEmpty }) {
                return (index, block)
            }
        }
        return nil
    }

    /// One message; blocks before `firstBlock` are left out (they precede a compaction block).
    static func decodeMessage(_ raw: JSONValue, path: String, firstBlock: Int = 0) throws(RequestError) -> Conversation.Message {
        guard case .object = raw else { throw .invalid(path, "must be an object") }
        guard let roleName = raw["role"]?.stringValue else { throw .invalid("\(path).role", "field required") }
        let role: Conversation.Role
        switch roleName {
        case "user": role = .user
        case "assistant": role = .assistant
        case "system": role = .system
        default: throw .invalid("\(path).role", "must be \"user\", \"assistant\" or \"system\", got \"\(roleName)\"")
        }
        switch raw["content"] {
        case nil: throw .invalid("\(path).content", "field required")
        case .string(let text)?:
            return Conversation.Message(role: role, content: text.isEmpty ? [] : [.text(text)])
        case .array(let blocks)?:
            var content: [Conversation.ContentBlock] = []
            for (index, block) in blocks.enumerated() where index >= firstBlock {
                let blockPath = "\(path).content.\(index)"
                if role == .system {
                    switch block["type"]?.stringValue {
                    case "text":
                        guard let text = block["text"]?.stringValue else { throw .invalid("\(blockPath).text", "must be a string") }
                        content.append(.text(text))
                    case "tool_addition", "tool_removal":
                        content += try decodeBlock(block, role: role, path: blockPath)
                    default:
                        throw .invalid(blockPath, "system messages take text, tool_addition and tool_removal blocks only")
                    }
                    continue
                }
                content += try decodeBlock(block, role: role, path: blockPath)
            }
            return Conversation.Message(role: role, content: content)
        default:
            throw .invalid("\(path).content", "must be a string or an array of content blocks")
        }
    }

    /// One content block as zero or more neutral blocks (`redacted_thinking` and empty thinking become none).
    static func decodeBlock(_ block: JSONValue, role: Conversation.Role, path: String) throws(RequestError) -> [Conversation.ContentBlock] {
        guard case .object = block else { throw .invalid(path, "must be a content block object") }
        guard let type = block["type"]?.stringValue else { throw .invalid("\(path).type", "field required") }
        switch type {
        case "text":
            guard let text = block["text"]?.stringValue else { throw .invalid("\(path).text", "must be a string") }
            return [.text(text)]
        case "image":
            return [.image(try decodeImage(block["source"], path: "\(path).source"))]
        case "document":
            return try decodeDocument(block, path: path)
        case "search_result":
            return [.text(try searchResultText(block, path: path))]
        case "tool_use":
            guard let id = block["id"]?.stringValue, !id.isEmpty else { throw .invalid("\(path).id", "must be a non-empty string") }
            guard let name = block["name"]?.stringValue, !name.isEmpty else {
                throw .invalid("\(path).name", "must be a non-empty string")
            }
            let input = block["input"] ?? .object([])
            guard case .object = input else { throw .invalid("\(path).input", "must be an object") }
            return [.toolUse(.init(id: id, name: name, input: input))]
        case "tool_addition", "tool_removal":
            return [.toolChange(try decodeToolChange(block, added: type == "tool_addition", path: path))]
        case "compaction":
            // The summary that stands for the compacted messages; its tool changes still apply.
            var blocks: [Conversation.ContentBlock] = []
            if let summary = block["content"]?.stringValue, !summary.isEmpty {
                blocks.append(.text("Summary of the earlier conversation:\n\(summary)"))
            }
            for (index, change) in (block["tool_changes"]?.arrayValue ?? []).enumerated() {
                let changePath = "\(path).tool_changes.\(index)"
                let changeType = change["type"]?.stringValue
                guard changeType == "tool_addition" || changeType == "tool_removal" else {
                    throw .invalid("\(changePath).type", "must be tool_addition or tool_removal")
                }
                blocks.append(.toolChange(try decodeToolChange(change, added: changeType == "tool_addition", path: changePath)))
            }
            return blocks
        case "fallback":
            // A marker between the content before and after a model fallback; Anthropic does not render it either.
            return []
        case "mcp_tool_listing":
            let names = (block["tools"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }
            return [.text("[MCP server \(block["mcp_server_name"]?.stringValue ?? "") listed tools: \(names.joined(separator: ", "))]")]
        case "mcp_tool_use":
            let name = "\(block["server_name"]?.stringValue ?? "mcp")/\(block["name"]?.stringValue ?? "tool")"
            return [.text("[MCP tool call \(block["id"]?.stringValue ?? "") \(name): \((block["input"] ?? .object([])).jsonString)]")]
        case "server_tool_use":
            // Anthropic ran this tool itself; the upstream has no such call, so the model reads it as text.
            let name = block["name"]?.stringValue ?? "server tool"
            let input = block["input"] ?? .object([])
            return [.text("[server tool call \(block["id"]?.stringValue ?? "") \(name): \(input.jsonString)]")]
        case "tool_result":
            guard let id = block["tool_use_id"]?.stringValue, !id.isEmpty else {
                throw .invalid("\(path).tool_use_id", "must be a non-empty string")
            }
            var isError = block["is_error"]?.boolValue ?? false
            if block["status"]?.stringValue == "error" { isError = true }
            let parts = try decodeToolResultContent(block["content"], path: "\(path).content")
            return [.toolResult(.init(toolUseID: id, content: parts, isError: isError))]
        case _ where serverToolResultTypes.contains(type):
            let id = block["tool_use_id"]?.stringValue ?? ""
            return [.text("[\(type) for \(id): \((block["content"] ?? .null).jsonString)]")]
        case "thinking":
            guard let text = block["thinking"]?.stringValue else { throw .invalid("\(path).thinking", "must be a string") }
            // The signature (ours or Anthropic's) is never forwarded: the upstream cannot check it. Omitted
            // thinking of ours comes back empty, with its text in the signature.
            if text.isEmpty, let carried = block["signature"]?.stringValue.flatMap(ThinkingSignature.carriedText) { return [.thinking(carried)] }
            return text.isEmpty ? [] : [.thinking(text)]
        case "redacted_thinking":
            // Encrypted reasoning can only be read by Anthropic's own models; it cannot reach this one.
            return []
        case "container_upload":
            throw .invalid(
                "\(path).type", "container_upload blocks are not supported: Amazon Q has no code-execution container")
        default:
            throw .invalid("\(path).type", "unsupported content block type \"\(type)\"")
        }
    }

    /// A `tool_addition` or `tool_removal` block: a tool of `tools` by name, or (additions) an inline definition.
    static func decodeToolChange(_ block: JSONValue, added: Bool, path: String) throws(RequestError) -> Conversation.ToolChange {
        guard let tool = block["tool"], case .object = tool else { throw .invalid("\(path).tool", "field required") }
        switch tool["type"]?.stringValue {
        case "tool_reference":
            guard let name = tool["name"]?.stringValue, !name.isEmpty else { throw .invalid("\(path).tool.name", "must be a non-empty string") }
            return .init(name: name, added: added)
        case "tool_definition" where added:
            guard let definition = tool["definition"], case .object = definition else {
                throw .invalid("\(path).tool.definition", "field required")
            }
            let decoded = try ClaudeToolDecoder.decodeTools(.array([definition]), path: "\(path).tool.definition")
            guard let first = decoded.tools.first else {
                throw .invalid("\(path).tool.definition.type", "a tool-search tool cannot be added mid-conversation")
            }
            return .init(name: first.name, added: true, definition: first)
        case let other?:
            throw .invalid(
                "\(path).tool.type", "\(other) is not supported: MCP tools are not available through this proxy (no mcp_servers)")
        case nil:
            throw .invalid("\(path).tool.type", "field required")
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
            throw .invalid("\(path).type", "image URL sources are not supported by this proxy (it fetches nothing); send the image as base64")
        case "file":
            throw .invalid("\(path).type", "file sources (the Files API) are not supported by this proxy; send the image as base64")
        case let other?:
            throw .invalid("\(path).type", "unsupported image source type \"\(other)\"")
        case nil:
            throw .invalid("\(path).type", "field required")
        }
    }

    /// A `document` block: its text reaches the model with its title and context.
    static func decodeDocument(_ block: JSONValue, path: String) throws(RequestError) -> [Conversation.ContentBlock] {
        guard let source = block["source"], case .object = source else { throw .invalid("\(path).source", "field required") }
        var header = "Document"
        if let title = block["title"]?.stringValue, !title.isEmpty { header += ": \(title)" }
        if let context = block["context"]?.stringValue, !context.isEmpty { header += "\nContext: \(context)" }
        switch source["type"]?.stringValue {
        case "text":
            guard let data = source["data"]?.stringValue else { throw .invalid("\(path).source.data", "must be a string") }
            return [.text("\(header)\n\(data)")]
        case "content":
            var blocks: [Conversation.ContentBlock] = [.text(header)]
            switch source["content"] {
            case .string(let text)?: blocks.append(.text(text))
            case .array(let items)?:
                for (index, item) in items.enumerated() {
                    let itemPath = "\(path).source.content.\(index)"
                    switch item["type"]?.stringValue {
                    case "text": blocks.append(.text(item["text"]?.stringValue ?? ""))
                    case "image": blocks.append(.image(try decodeImage(item["source"], path: "\(itemPath).source")))
                    default: throw .invalid("\(itemPath).type", "document content takes text and image blocks")
                    }
                }
            default: throw .invalid("\(path).source.content", "must be a string or an array of content blocks")
            }
            return blocks
        case "base64":
            throw .invalid(
                "\(path).source.type",
                "PDF documents are not supported: q2api does not extract PDF text; send the text as a plain-text document source")
        case "url":
            throw .invalid("\(path).source.type", "document URL sources are not supported by this proxy (it fetches nothing); send the text")
        case "file":
            throw .invalid("\(path).source.type", "file sources (the Files API) are not supported by this proxy; send the text")
        case let other?:
            throw .invalid("\(path).source.type", "unsupported document source type \"\(other)\"")
        case nil:
            throw .invalid("\(path).source.type", "field required")
        }
    }

    static func searchResultText(_ block: JSONValue, path: String) throws(RequestError) -> String {
        var lines = ["Search result: \(block["title"]?.stringValue ?? "")", "Source: \(block["source"]?.stringValue ?? "")"]
        for item in block["content"]?.arrayValue ?? [] {
            if let text = item["text"]?.stringValue { lines.append(text) }
        }
        return lines.joined(separator: "\n")
    }

    static func decodeToolResultContent(_ value: JSONValue?, path: String) throws(RequestError) -> [Conversation.ToolResultPart] {
        switch value {
        case nil, .null?: return []
        case .string(let text)?: return text.isEmpty ? [] : [.text(text)]
        case .array(let items)?:
            var parts: [Conversation.ToolResultPart] = []
            for (index, item) in items.enumerated() {
                let itemPath = "\(path).\(index)"
                switch item {
                case .string(let text): parts.append(.text(text))
                case .object:
                    switch item["type"]?.stringValue ?? "text" {
                    case "image": parts.append(.image(try decodeImage(item["source"], path: "\(itemPath).source")))
                    case "tool_reference":
                        guard let name = item["tool_name"]?.stringValue, !name.isEmpty else {
                            throw .invalid("\(itemPath).tool_name", "must be a non-empty string")
                        }
                        parts.append(.toolReference(name))
                    case "search_result": parts.append(.text(try searchResultText(item, path: itemPath)))
                    case "document":
                        for block in try decodeDocument(item, path: itemPath) {
                            switch block {
                            case .text(let text): parts.append(.text(text))
                            case .image(let image): parts.append(.image(image))
                            default: break
                            }
                        }
                    case "json" where item["json"] != nil: parts.append(.json(item["json"]!))
                    default:
                        if let text = item["text"]?.stringValue { parts.append(.text(text)) } else { parts.append(.json(item)) }
                    }
                default:
                    throw .invalid(itemPath, "must be a content block")
                }
            }
            return parts
        default:
            throw .invalid(path, "must be a string or an array of content blocks")
        }
    }
}
