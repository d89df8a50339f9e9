import ProxyModels

/// The `tools` and `tool_choice` of a Claude request.
///
/// Custom tools pass through (`defer_loading` kept for the payload builder). Anthropic's versioned client
/// tools (`bash_*`, `text_editor_*`, `memory_*`) are tools the client runs, so they become ordinary tools with
/// the schemas Anthropic publishes for them. The tool-search tools are accepted: the upstream cannot search,
/// so every deferred tool is offered to it directly. Server tools, which Anthropic runs on its side
/// (web search and fetch, code execution, the computer and browser toolsets), are refused by `type`.
enum ClaudeToolDecoder {
    struct Decoded {
        var tools: [Conversation.Tool]
        var toolSearch: Bool
    }

    static func decodeTools(_ value: JSONValue?, path toolsPath: String = "tools") throws(RequestError) -> Decoded {
        var decoded = Decoded(tools: [], toolSearch: false)
        for (objectPath, item) in try RequestFields.objects(value, path: toolsPath) {
            let path = toolsPath == "tools" ? objectPath : toolsPath
            let deferLoading = item["defer_loading"]?.boolValue ?? false
            let type = item["type"]?.stringValue ?? "custom"
            if type != "custom" {
                if type.hasPrefix("tool_search_tool_") {
                    decoded.toolSearch = true
                    continue
                }
                guard let builtIn = clientTool(type: type) else {
                    throw .invalid(
                        "\(path).type",
                        "the tool type \"\(type)\" is not supported: Amazon Q has no equivalent of Anthropic's server tools and toolsets, "
                            + "which Anthropic runs or drives on its side; define it as a custom tool that your client runs")
                }
                guard let name = item["name"]?.stringValue, !name.isEmpty else { throw .invalid("\(path).name", "field required") }
                decoded.tools.append(.init(name: name, description: builtIn.description, inputSchema: builtIn.schema, deferLoading: deferLoading))
                continue
            }
            guard let name = item["name"]?.stringValue, !name.isEmpty else { throw .invalid("\(path).name", "field required") }
            let schema = item["input_schema"] ?? .object([JSONMember("type", "object")])
            guard case .object = schema else { throw .invalid("\(path).input_schema", "must be an object") }
            decoded.tools.append(
                .init(name: name, description: item["description"]?.stringValue ?? "", inputSchema: schema, deferLoading: deferLoading))
        }
        return decoded
    }

    /// Anthropic's versioned client tools: the description and input schema of the published tool.
    static func clientTool(type: String) -> (description: String, schema: JSONValue)? {
        if type.hasPrefix("bash_") {
            return (
                "Run a command in a persistent bash shell. Use restart to start a fresh shell.",
                [
                    "type": "object",
                    "properties": [
                        "command": ["type": "string", "description": "The bash command to run."],
                        "restart": ["type": "boolean", "description": "Restart the bash session."],
                    ],
                ]
            )
        }
        if type.hasPrefix("text_editor_") {
            var commands: [JSONValue] = ["view", "create", "str_replace", "insert"]
            if type == "text_editor_20250124" || type == "text_editor_20241022" { commands.append("undo_edit") }
            return (
                "View, create and edit text files: view a file or directory, create a file, replace a unique string, insert text after a line.",
                [
                    "type": "object",
                    "properties": [
                        "command": ["type": "string", "enum": .array(commands)],
                        "path": ["type": "string", "description": "Absolute path of the file or directory."],
                        "file_text": ["type": "string", "description": "The content of the file to create."],
                        "old_str": ["type": "string", "description": "The exact text to replace; it must occur once."],
                        "new_str": ["type": "string", "description": "The replacement text, or the text to insert."],
                        "insert_line": ["type": "integer", "description": "The line after which new_str is inserted."],
                        "view_range": ["type": "array", "items": ["type": "integer"], "description": "[start, end] lines to view."],
                    ],
                    "required": ["command", "path"],
                ]
            )
        }
        if type.hasPrefix("memory_") {
            return (
                "A memory directory (/memories) that persists across conversations: view, create, edit, delete and rename files in it.",
                [
                    "type": "object",
                    "properties": [
                        "command": ["type": "string", "enum": ["view", "create", "str_replace", "insert", "delete", "rename"]],
                        "path": ["type": "string"],
                        "file_text": ["type": "string"],
                        "old_str": ["type": "string"],
                        "new_str": ["type": "string"],
                        "insert_line": ["type": "integer"],
                        "insert_text": ["type": "string"],
                        "view_range": ["type": "array", "items": ["type": "integer"]],
                        "old_path": ["type": "string"],
                        "new_path": ["type": "string"],
                    ],
                    "required": ["command"],
                ]
            )
        }
        return nil
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
}
