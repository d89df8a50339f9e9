import ProxyModels

/// Reads a Responses API request body (`POST /v1/responses`) into a ``ResponsesRequest``.
///
/// What cannot be served is a 400 naming the member: OpenAI-hosted tools (file search, code interpreter,
/// computer use, MCP, image generation), background mode, stored prompts, the Conversations API. `web_search`
/// is the exception: Codex offers it on every request, so it is left out (the model cannot search) and logged.
package enum ResponsesRequestDecoder {
    /// Tool types OpenAI runs on its side; the upstream runs none of them.
    static let hostedTools: Set<String> = [
        "file_search", "computer_use_preview", "computer_use", "code_interpreter", "mcp", "image_generation", "local_shell", "shell",
        "apply_patch", "tool_search",
    ]

    package static func decode(_ body: JSONValue) throws(RequestError) -> ResponsesRequest {
        guard case .object = body else { throw .invalid("body", "the request body must be a JSON object") }
        guard let model = body["model"], !model.isNull else { throw .invalid("model", "field required") }
        guard let modelName = model.stringValue, !modelName.isEmpty else { throw .invalid("model", "must be a non-empty string") }
        try refuseUnsupported(body)

        let previousResponseID = try optionalString(body, "previous_response_id")
        let input = try normalisedInput(body["input"], continuing: previousResponseID != nil)
        var ignored: [String] = []
        let tools = try decodeTools(body["tools"], ignored: &ignored)
        let format = try decodeTextFormat(body["text"])
        let reasoning = try decodeReasoning(body["reasoning"])
        let include = try strings(body["include"], path: "include")
        let store = try optionalBool(body, "store") ?? true
        let stream = try RequestFields.bool(body["stream"], path: "stream")

        var maxTokens: Int?
        if let value = body["max_output_tokens"], !value.isNull {
            guard let int = value.intValue, int >= 1 else { throw .invalid("max_output_tokens", "must be an integer >= 1") }
            maxTokens = int
        }
        for key in ["temperature", "top_p"] {
            if let value = body[key], !value.isNull, value.doubleValue == nil { throw .invalid(key, "must be a number") }
        }
        for key in ["user", "prompt_cache_key", "safety_identifier", "instructions", "service_tier"] {
            if let value = body[key], !value.isNull, value.stringValue == nil { throw .invalid(key, "must be a string") }
        }
        if let metadata = body["metadata"], !metadata.isNull {
            guard let members = metadata.objectValue else { throw .invalid("metadata", "must be an object") }
            guard members.count <= 16 else { throw .invalid("metadata", "at most 16 keys are allowed") }
            for member in members where member.value.stringValue == nil {
                throw .invalid("metadata.\(member.key)", "must be a string")
            }
        }
        if let truncation = body["truncation"], !truncation.isNull, truncation.stringValue != "auto", truncation.stringValue != "disabled" {
            throw .invalid("truncation", "must be \"auto\" or \"disabled\"")
        }
        for key in ["parallel_tool_calls"] where body[key] != nil {
            _ = try RequestFields.bool(body[key], path: key)
        }

        var decoded = ResponsesInputDecoder()
        try decoded.add(input, path: "input")
        // With previous_response_id, the calls may be in the stored conversation: checked once it is read.
        if previousResponseID == nil { try decoded.checkPairs() }
        var conversation = Conversation(
            model: modelName, system: decoded.systemText(instructions: body["instructions"]?.stringValue), messages: decoded.messages,
            tools: tools.function, toolChoice: try decodeToolChoice(body["tool_choice"], tools: tools), maxTokens: maxTokens,
            stream: stream,
            sessionKey: body["prompt_cache_key"]?.stringValue ?? body["user"]?.stringValue ?? body["safety_identifier"]?.stringValue,
            extraInstructions: format.map { [$0.instruction] } ?? [])
        conversation.responseSchema = format?.schema
        conversation.thinking = reasoning.thinking
        conversation.effort = reasoning.effort
        conversation.thinkingDisplay = reasoning.summary ? .summarized : .omitted
        conversation.ignoredFields = ignored

        var request = ResponsesRequest(
            conversation: conversation, input: input, previousResponseID: previousResponseID, store: store,
            includeEncryptedReasoning: include.contains("reasoning.encrypted_content"), reasoningSummary: reasoning.summary,
            customTools: tools.custom, namespacedTools: tools.namespaced, instructions: body["instructions"]?.stringValue,
            echo: echo(body, modelName: modelName))
        request.fromCodex = body["client_metadata"]?["x-codex-installation-id"] != nil
        return request
    }

    /// The settings a response object repeats, with OpenAI's defaults for what was not sent.
    static func echo(_ body: JSONValue, modelName: String) -> [JSONMember] {
        // Absent and null both echo the default (`JSONValue` is nil-literal-expressible: `?? fallback` on a
        // flatMapped nil would echo null).
        func sent(_ value: JSONValue?, _ fallback: JSONValue) -> JSONValue {
            if let value, !value.isNull { value } else { fallback }
        }
        func value(_ key: String, _ fallback: JSONValue) -> JSONMember {
            JSONMember(key, sent(body[key], fallback))
        }
        return [
            value("instructions", .null), value("max_output_tokens", .null), value("metadata", [:]),
            value("parallel_tool_calls", true), value("previous_response_id", .null),
            JSONMember("reasoning", ["effort": body["reasoning"]?["effort"] ?? .null, "summary": body["reasoning"]?["summary"] ?? .null]),
            value("service_tier", "auto"), value("store", true), value("temperature", .number("1.0")),
            JSONMember("text", ["format": sent(body["text"]?["format"], ["type": "text"]), "verbosity": sent(body["text"]?["verbosity"], "medium")]),
            value("tool_choice", "auto"), value("tools", []), value("top_p", .number("1.0")), value("truncation", "disabled"),
            value("user", .null), value("prompt_cache_key", .null), value("safety_identifier", .null),
        ]
    }

    static func refuseUnsupported(_ body: JSONValue) throws(RequestError) {
        if body["background"]?.boolValue == true {
            throw .invalid("background", "background responses are not supported: send the request with stream or wait for it")
        }
        if let conversation = body["conversation"], !conversation.isNull {
            throw .invalid("conversation", "the Conversations API is not supported; continue a conversation with previous_response_id")
        }
        if let prompt = body["prompt"], !prompt.isNull {
            throw .invalid("prompt", "stored prompt templates are not supported; send the instructions and input themselves")
        }
        if let previous = body["previous_response_id"], !previous.isNull, let conversation = body["conversation"], !conversation.isNull {
            throw .invalid("previous_response_id", "cannot be combined with conversation")
        }
    }

    /// `input` as a list of items: a string is one user message.
    static func normalisedInput(_ value: JSONValue?, continuing: Bool) throws(RequestError) -> [JSONValue] {
        switch value {
        case nil, .null?:
            if continuing { return [] }
            throw .invalid("input", "field required")
        case .string(let text)?:
            return [["type": "message", "role": "user", "content": [["type": "input_text", "text": .string(text)]]]]
        case .array(let items)?:
            if items.isEmpty && !continuing { throw .invalid("input", "at least one input item is required") }
            return items
        default:
            throw .invalid("input", "must be a string or an array of input items")
        }
    }

    // MARK: - Tools

    struct Tools {
        var function: [Conversation.Tool] = []
        var custom: Set<String> = []
        var namespaced: [String: ResponsesRequest.NamespacedTool] = [:]
    }

    static func decodeTools(_ value: JSONValue?, ignored: inout [String]) throws(RequestError) -> Tools {
        var tools = Tools()
        for (path, item) in try RequestFields.objects(value, path: "tools") {
            let type = item["type"]?.stringValue ?? "function"
            switch type {
            case "function":
                tools.function.append(try functionTool(item, path: path))
            case "custom":
                let tool = try customTool(item, path: path)
                tools.custom.insert(tool.name)
                tools.function.append(tool)
            case "namespace":
                guard let namespace = item["name"]?.stringValue, !namespace.isEmpty else { throw .invalid("\(path).name", "field required") }
                for (innerPath, inner) in try RequestFields.objects(item["tools"], path: "\(path).tools") {
                    var tool = try functionTool(inner, path: innerPath)
                    let flat = namespace + tool.name
                    tools.namespaced[flat] = .init(namespace: namespace, name: tool.name)
                    tool.name = flat
                    tools.function.append(tool)
                }
            case _ where type.hasPrefix("web_search"):
                // Codex offers web search on every request; the upstream cannot search, so the model is not offered it.
                if !ignored.contains("tools.\(type)") { ignored.append("tools.\(type)") }
            case _ where hostedTools.contains(type) || type.hasPrefix("computer_use"):
                throw .invalid(
                    "\(path).type",
                    "the built-in tool \"\(type)\" is not supported: the upstream runs no OpenAI-hosted tools; declare a function tool instead")
            default:
                throw .invalid("\(path).type", "unsupported tool type \"\(type)\"; function and custom tools are supported")
            }
        }
        let names = tools.function.map(\.name)
        if let duplicate = names.first(where: { name in names.count { $0 == name } > 1 }) {
            throw .invalid("tools", "the tool name \"\(duplicate)\" is declared twice")
        }
        return tools
    }

    /// A flat function tool (`{"type":"function","name":…,"parameters":…,"strict":…}`); the Chat Completions form
    /// with a nested `function` object is read too, as some clients send it here.
    static func functionTool(_ item: JSONValue, path: String) throws(RequestError) -> Conversation.Tool {
        let function = item["function"].flatMap { $0.objectValue != nil ? $0 : nil } ?? item
        guard let name = function["name"]?.stringValue, !name.isEmpty else { throw .invalid("\(path).name", "field required") }
        let schema: JSONValue
        switch function["parameters"] {
        case nil, .null?: schema = ["type": "object", "properties": [:]]
        case .object(let members)?: schema = .object(members)
        default: throw .invalid("\(path).parameters", "must be an object")
        }
        if let strict = function["strict"], !strict.isNull, strict.boolValue == nil { throw .invalid("\(path).strict", "must be a boolean") }
        return .init(name: name, description: function["description"]?.stringValue ?? "", inputSchema: schema)
    }

    /// A custom tool takes free-form text: the model sees one string parameter, and its grammar when there is one.
    static func customTool(_ item: JSONValue, path: String) throws(RequestError) -> Conversation.Tool {
        guard let name = item["name"]?.stringValue, !name.isEmpty else { throw .invalid("\(path).name", "field required") }
        var description = item["description"]?.stringValue ?? ""
        if let format = item["format"], format["type"]?.stringValue == "grammar", let definition = format["definition"]?.stringValue {
            let syntax = format["syntax"]?.stringValue ?? "lark"
            description += "\n\nThe input is free-form text that must follow this \(syntax) grammar:\n```\n\(definition)\n```"
        }
        let schema: JSONValue = [
            "type": "object",
            "properties": ["input": ["type": "string", "description": "The tool's free-form input text."]],
            "required": ["input"],
        ]
        return .init(name: name, description: description, inputSchema: schema)
    }

    static func decodeToolChoice(_ value: JSONValue?, tools: Tools) throws(RequestError) -> Conversation.ToolChoice {
        switch value {
        case nil, .null?, .string("auto")?: return .auto
        case .string("none")?: return .none
        case .string("required")?: return .any
        case .object?:
            let type = value?["type"]?.stringValue ?? ""
            switch type {
            case "function", "custom":
                guard let name = value?["name"]?.stringValue, !name.isEmpty else { throw .invalid("tool_choice.name", "field required") }
                guard tools.function.contains(where: { $0.name == name }) else {
                    throw .invalid("tool_choice.name", "no tool named \"\(name)\" is declared in tools")
                }
                return .named(name)
            case "allowed_tools":
                return value?["mode"]?.stringValue == "required" ? .any : .auto
            default:
                throw .invalid("tool_choice.type", "the built-in tool \"\(type)\" is not supported; choose a function tool")
            }
        default:
            throw .invalid("tool_choice", "must be \"auto\", \"none\", \"required\" or {\"type\":\"function\",\"name\":...}")
        }
    }

    // MARK: - Options

    /// `text.format`, honoured by instruction as on the other routes; a `json_schema` reply is checked against its schema.
    static func decodeTextFormat(_ value: JSONValue?) throws(RequestError) -> (instruction: String, schema: JSONValue?)? {
        guard let value, !value.isNull else { return nil }
        guard case .object = value else { throw .invalid("text", "must be an object") }
        if let verbosity = value["verbosity"], !verbosity.isNull, !["low", "medium", "high"].contains(verbosity.stringValue ?? "") {
            throw .invalid("text.verbosity", "must be one of low, medium, high")
        }
        guard let format = value["format"], !format.isNull else { return nil }
        guard case .object = format, let type = format["type"]?.stringValue else { throw .invalid("text.format", "must be an object with a type") }
        switch type {
        case "text": return nil
        case "json_object": return (OpenAIRequestDecoder.jsonObjectInstruction, nil)
        case "json_schema":
            guard let name = format["name"]?.stringValue, !name.isEmpty else { throw .invalid("text.format.name", "field required") }
            _ = name
            guard let schema = format["schema"], case .object = schema else { throw .invalid("text.format.schema", "must be an object") }
            if let problem = StructuredOutput.schemaProblem(schema, path: "text.format.schema") { throw .invalid(problem.field, problem.message) }
            return (StructuredOutput.instruction(for: schema), schema)
        default:
            throw .invalid("text.format.type", "must be one of text, json_object, json_schema")
        }
    }

    /// `reasoning.effort` turns thinking on (`none` and `minimal` leave it off); `reasoning.summary` shows it.
    static func decodeReasoning(_ value: JSONValue?) throws(RequestError) -> (
        thinking: Conversation.Thinking?, effort: Conversation.Effort?, summary: Bool
    ) {
        guard let value, !value.isNull else { return (nil, nil, false) }
        guard case .object = value else { throw .invalid("reasoning", "must be an object") }
        var thinking: Conversation.Thinking?
        var effort: Conversation.Effort?
        if let raw = value["effort"], !raw.isNull {
            switch raw.stringValue {
            case "none"?, "minimal"?: break
            case "low"?: (thinking, effort) = (.adaptive, .low)
            case "medium"?: (thinking, effort) = (.adaptive, .medium)
            case "high"?: (thinking, effort) = (.adaptive, .high)
            case "xhigh"?: (thinking, effort) = (.adaptive, .xhigh)
            default: throw .invalid("reasoning.effort", "must be one of none, minimal, low, medium, high, xhigh")
            }
        }
        var summary = false
        for key in ["summary", "generate_summary"] {
            guard let raw = value[key], !raw.isNull else { continue }
            switch raw.stringValue {
            case "auto"?, "concise"?, "detailed"?: summary = true
            case "none"?: break
            default: throw .invalid("reasoning.\(key)", "must be one of auto, concise, detailed")
            }
        }
        // A summary of no reasoning would be empty: asking for one turns reasoning on.
        if summary && thinking == nil && value["effort"]?.stringValue != "none" { thinking = .adaptive }
        return (thinking, effort, summary)
    }

    static func optionalString(_ body: JSONValue, _ key: String) throws(RequestError) -> String? {
        guard let value = body[key], !value.isNull else { return nil }
        guard let text = value.stringValue, !text.isEmpty else { throw .invalid(key, "must be a non-empty string") }
        return text
    }

    static func optionalBool(_ body: JSONValue, _ key: String) throws(RequestError) -> Bool? {
        guard let value = body[key], !value.isNull else { return nil }
        guard let flag = value.boolValue else { throw .invalid(key, "must be a boolean") }
        return flag
    }

    static func strings(_ value: JSONValue?, path: String) throws(RequestError) -> [String] {
        guard let value, !value.isNull else { return [] }
        guard let items = value.arrayValue else { throw .invalid(path, "must be an array of strings") }
        var strings: [String] = []
        for (index, item) in items.enumerated() {
            guard let text = item.stringValue else { throw .invalid("\(path).\(index)", "must be a string") }
            strings.append(text)
        }
        return strings
    }
}
