import ProxyModels

/// A decoded Chat Completions request: the neutral conversation plus what only the OpenAI
/// encoder needs.
package struct OpenAIRequest: Sendable, Equatable {
    package var conversation: Conversation
    /// `stream_options.include_usage`: end the stream with a `choices: []` chunk carrying `usage`.
    package var includeUsage: Bool
}

/// Reads an OpenAI Chat Completions request body into a `Conversation`.
///
/// Unknown fields are ignored (clients send many: `logprobs`, `parallel_tool_calls`,
/// `presence_penalty`, …); what cannot be served is a 400 naming the field.
package enum OpenAIRequestDecoder {
    /// OpenAI's own limit on `stop`.
    package static let maximumStopSequences = 4
    package static let jsonObjectInstruction = "Respond with a single valid JSON object and nothing else."

    package static func decode(_ body: JSONValue) throws(RequestError) -> OpenAIRequest {
        guard case .object = body else { throw .invalid("body", "the request body must be a JSON object") }
        guard let model = body["model"], !model.isNull else { throw .invalid("model", "field required") }
        guard let modelName = model.stringValue, !modelName.isEmpty else { throw .invalid("model", "must be a non-empty string") }

        if let n = body["n"], !n.isNull {
            guard let count = n.intValue, count >= 1 else { throw .invalid("n", "must be an integer >= 1") }
            if count > 1 { throw .invalid("n", "only n=1 is supported: the upstream produces one choice per request") }
        }
        if let functions = body["functions"], !functions.isNull {
            throw .invalid("functions", "the legacy functions parameter is not supported; send tools instead")
        }
        if let functionCall = body["function_call"], !functionCall.isNull {
            throw .invalid("function_call", "the legacy function_call parameter is not supported; send tool_choice instead")
        }

        guard let messagesValue = body["messages"], !messagesValue.isNull else { throw .invalid("messages", "field required") }
        guard let rawMessages = messagesValue.arrayValue else { throw .invalid("messages", "must be an array") }
        guard !rawMessages.isEmpty else { throw .invalid("messages", "at least one message is required") }
        var system: [String] = []
        var messages: [Conversation.Message] = []
        var lastWasTool = false
        for (index, raw) in rawMessages.enumerated() {
            let path = "messages.\(index)"
            guard case .object = raw else { throw .invalid(path, "must be an object") }
            guard let role = raw["role"]?.stringValue else { throw .invalid("\(path).role", "field required") }
            let isTool = role == "tool"
            switch role {
            case "system", "developer":
                let text = try decodeText(raw["content"], path: "\(path).content")
                if !text.isEmpty { system.append(text) }
            case "user":
                messages.append(.init(role: .user, content: try decodeUserContent(raw["content"], path: "\(path).content")))
            case "assistant":
                messages.append(try decodeAssistant(raw, path: path))
            case "tool":
                guard let id = raw["tool_call_id"]?.stringValue, !id.isEmpty else {
                    throw .invalid("\(path).tool_call_id", "must be a non-empty string")
                }
                let text = try decodeText(raw["content"], path: "\(path).content")
                let result = Conversation.ContentBlock.toolResult(.init(toolUseID: id, content: text.isEmpty ? [] : [.text(text)], isError: false))
                // Consecutive tool messages answer one assistant turn: they form one user turn.
                if lastWasTool, let last = messages.indices.last {
                    messages[last].content.append(result)
                } else {
                    messages.append(.init(role: .user, content: [result]))
                }
            case "function":
                throw .invalid("\(path).role", "legacy function messages are not supported; use tool messages with tool_call_id")
            default:
                throw .invalid("\(path).role", "must be one of system, developer, user, assistant, tool; got \"\(role)\"")
            }
            lastWasTool = isTool
        }

        var maxTokens: Int?
        for key in ["max_tokens", "max_completion_tokens"] {
            // max_completion_tokens replaces max_tokens, so it wins when both are sent.
            if let value = body[key], !value.isNull {
                guard let int = value.intValue, int >= 1 else { throw .invalid(key, "must be an integer >= 1") }
                maxTokens = int
            }
        }

        var stopSequences: [String] = []
        switch body["stop"] {
        case nil, .null?: break
        case .string(let stop)?: if !stop.isEmpty { stopSequences = [stop] }
        case .array(let items)?:
            guard items.count <= maximumStopSequences else { throw .invalid("stop", "at most \(maximumStopSequences) stop sequences are allowed") }
            for (index, item) in items.enumerated() {
                guard let string = item.stringValue else { throw .invalid("stop.\(index)", "must be a string") }
                if !string.isEmpty { stopSequences.append(string) }
            }
        default: throw .invalid("stop", "must be a string or an array of strings")
        }

        let stream = try RequestFields.bool(body["stream"], path: "stream")
        var includeUsage = false
        if let options = body["stream_options"], !options.isNull {
            guard case .object = options else { throw .invalid("stream_options", "must be an object") }
            includeUsage = try RequestFields.bool(options["include_usage"], path: "stream_options.include_usage")
        }

        for key in ["temperature", "top_p", "presence_penalty", "frequency_penalty"] {
            if let value = body[key], !value.isNull, value.doubleValue == nil { throw .invalid(key, "must be a number") }
        }
        if let value = body["seed"], !value.isNull, value.intValue == nil { throw .invalid("seed", "must be an integer") }
        for key in ["user", "prompt_cache_key", "safety_identifier"] {
            if let value = body[key], !value.isNull, value.stringValue == nil { throw .invalid(key, "must be a string") }
        }
        let sessionKey = body["user"]?.stringValue ?? body["prompt_cache_key"]?.stringValue ?? body["safety_identifier"]?.stringValue

        var thinking: Conversation.Thinking?
        if let effort = body["reasoning_effort"], !effort.isNull {
            guard let level = effort.stringValue else { throw .invalid("reasoning_effort", "must be a string") }
            if level != "none" && level != "minimal" { thinking = .adaptive }
        }
        if thinking == nil, modelName.lowercased().hasSuffix("-thinking") { thinking = .enabled(budgetTokens: 16000) }

        var extraInstructions: [String] = []
        let format = try decodeResponseFormat(body["response_format"])
        if let instruction = format?.instruction { extraInstructions.append(instruction) }

        var conversation = Conversation(
            model: modelName, system: system.joined(separator: "\n"), messages: messages, tools: try decodeTools(body["tools"]),
            toolChoice: try decodeToolChoice(body["tool_choice"]), maxTokens: maxTokens, stopSequences: stopSequences, thinking: thinking,
            stream: stream, sessionKey: sessionKey, extraInstructions: extraInstructions)
        conversation.responseSchema = format?.schema
        return OpenAIRequest(conversation: conversation, includeUsage: includeUsage)
    }

    // MARK: - Messages

    /// Content that may only be text: a string, or an array of `text` parts (joined with newlines).
    static func decodeText(_ value: JSONValue?, path: String) throws(RequestError) -> String {
        switch value {
        case nil, .null?: return ""
        case .string(let text)?: return text
        case .array(let parts)?:
            var texts: [String] = []
            for (index, part) in parts.enumerated() {
                guard case .object = part, let text = part["text"]?.stringValue ?? part["refusal"]?.stringValue else {
                    throw .invalid("\(path).\(index)", "only text parts are allowed here")
                }
                texts.append(text)
            }
            return texts.joined(separator: "\n")
        default:
            throw .invalid(path, "must be a string or an array of text parts")
        }
    }

    static func decodeUserContent(_ value: JSONValue?, path: String) throws(RequestError) -> [Conversation.ContentBlock] {
        switch value {
        case nil, .null?: throw .invalid(path, "field required")
        case .string(let text)?: return text.isEmpty ? [] : [.text(text)]
        case .array(let parts)?:
            var content: [Conversation.ContentBlock] = []
            for (index, part) in parts.enumerated() {
                let partPath = "\(path).\(index)"
                guard case .object = part else { throw .invalid(partPath, "must be a content part object") }
                switch part["type"]?.stringValue {
                case "text"?:
                    guard let text = part["text"]?.stringValue else { throw .invalid("\(partPath).text", "must be a string") }
                    content.append(.text(text))
                case "image_url"?:
                    let url = part["image_url"]?["url"]?.stringValue ?? part["image_url"]?.stringValue
                    guard let url else { throw .invalid("\(partPath).image_url.url", "field required") }
                    content.append(.image(try decodeImageURL(url, path: "\(partPath).image_url.url")))
                case let type?:
                    throw .invalid("\(partPath).type", "unsupported content part type \"\(type)\"; the upstream accepts text and image_url")
                case nil:
                    throw .invalid("\(partPath).type", "field required")
                }
            }
            return content
        default:
            throw .invalid(path, "must be a string or an array of content parts")
        }
    }

    /// `data:image/png;base64,…`. Remote URLs are refused: this proxy does not fetch them.
    static func decodeImageURL(_ url: String, path: String) throws(RequestError) -> Conversation.Image {
        let lowered = url.prefix(8).lowercased()
        if lowered.hasPrefix("http://") || lowered.hasPrefix("https://") {
            throw .invalid(
                path,
                "remote image URLs are not supported: fetching images is not implemented in this proxy; "
                    + "send the image inline as a data URL (data:image/png;base64,...)")
        }
        guard lowered.hasPrefix("data:"), let comma = url.firstIndex(of: ",") else {
            throw .invalid(path, "must be a data URL (data:image/png;base64,...)")
        }
        let header = url[url.index(url.startIndex, offsetBy: 5)..<comma]
        let parameters = header.split(separator: ";").map { String($0).trimmingWhitespace() }
        guard parameters.contains(where: { $0.lowercased() == "base64" }) else {
            throw .invalid(path, "the data URL must be base64-encoded (data:image/png;base64,...)")
        }
        let mediaType = parameters.first ?? ""
        return try .validated(mediaType: mediaType, base64: String(url[url.index(after: comma)...]), mediaTypePath: path, dataPath: path)
    }

    static func decodeAssistant(_ raw: JSONValue, path: String) throws(RequestError) -> Conversation.Message {
        if let call = raw["function_call"], !call.isNull {
            throw .invalid("\(path).function_call", "legacy function calls are not supported; use tool_calls")
        }
        let text = try decodeText(raw["content"], path: "\(path).content")
        var content: [Conversation.ContentBlock] = []
        if let reasoning = raw["reasoning_content"]?.stringValue, !reasoning.isEmpty { content.append(.thinking(reasoning)) }
        if !text.isEmpty { content.append(.text(text)) }
        switch raw["tool_calls"] {
        case nil, .null?: break
        case .array(let calls)?:
            for (index, call) in calls.enumerated() {
                content.append(.toolUse(try decodeToolCall(call, path: "\(path).tool_calls.\(index)")))
            }
        default: throw .invalid("\(path).tool_calls", "must be an array")
        }
        return .init(role: .assistant, content: content)
    }

    static func decodeToolCall(_ call: JSONValue, path: String) throws(RequestError) -> Conversation.ToolUse {
        guard case .object = call else { throw .invalid(path, "must be an object") }
        if let type = call["type"]?.stringValue, type != "function" {
            throw .invalid("\(path).type", "only function tool calls are supported, got \"\(type)\"")
        }
        guard let id = call["id"]?.stringValue, !id.isEmpty else { throw .invalid("\(path).id", "must be a non-empty string") }
        guard let function = call["function"], case .object = function else { throw .invalid("\(path).function", "field required") }
        guard let name = function["name"]?.stringValue, !name.isEmpty else {
            throw .invalid("\(path).function.name", "must be a non-empty string")
        }
        return .init(id: id, name: name, input: try decodeArguments(function["arguments"], path: "\(path).function.arguments"))
    }

    /// Function arguments: a JSON object encoded as a string (an object is taken as it is; empty is `{}`).
    static func decodeArguments(_ value: JSONValue?, path: String) throws(RequestError) -> JSONValue {
        switch value {
        case nil, .null?: return .object([])
        case .string(let text)?:
            if text.trimmingWhitespace().isEmpty { return .object([]) }
            guard let parsed = try? JSONParser.parse(text), case .object = parsed else {
                throw .invalid(path, "must be a JSON object encoded as a string")
            }
            return parsed
        case .object(let members)?: return .object(members)
        default: throw .invalid(path, "must be a JSON object encoded as a string")
        }
    }

    // MARK: - Tools and options

    static func decodeTools(_ value: JSONValue?) throws(RequestError) -> [Conversation.Tool] {
        var tools: [Conversation.Tool] = []
        for (path, item) in try RequestFields.objects(value, path: "tools") {
            let type = item["type"]?.stringValue ?? "function"
            guard type == "function" else { throw .invalid("\(path).type", "only function tools are supported, got \"\(type)\"") }
            guard let function = item["function"], case .object = function else { throw .invalid("\(path).function", "field required") }
            guard let name = function["name"]?.stringValue, !name.isEmpty else { throw .invalid("\(path).function.name", "field required") }
            let schema: JSONValue
            switch function["parameters"] {
            case nil, .null?: schema = ["type": "object", "properties": [:]]
            case .object(let members)?: schema = .object(members)
            default: throw .invalid("\(path).function.parameters", "must be an object")
            }
            tools.append(.init(name: name, description: function["description"]?.stringValue ?? "", inputSchema: schema))
        }
        return tools
    }

    static func decodeToolChoice(_ value: JSONValue?) throws(RequestError) -> Conversation.ToolChoice {
        switch value {
        case nil, .null?, .string("auto")?: return .auto
        case .string("none")?: return .none
        case .string("required")?: return .any
        case .object?:
            switch value?["type"]?.stringValue {
            case "function":
                guard let name = value?["function"]?["name"]?.stringValue, !name.isEmpty else {
                    throw .invalid("tool_choice.function.name", "field required")
                }
                return .named(name)
            case "allowed_tools":
                return value?["allowed_tools"]?["mode"]?.stringValue == "required" ? .any : .auto
            default:
                throw .invalid("tool_choice.type", "must be \"function\" (or \"allowed_tools\")")
            }
        default:
            throw .invalid("tool_choice", "must be \"auto\", \"none\", \"required\" or {\"type\":\"function\",\"function\":{\"name\":...}}")
        }
    }

    /// `response_format` is honoured by instruction: the upstream has no structured-output mode. A `json_schema`
    /// format also returns its schema, which a non-streaming reply is checked against (`StructuredOutput`).
    static func decodeResponseFormat(_ value: JSONValue?) throws(RequestError) -> (instruction: String, schema: JSONValue?)? {
        guard let value, !value.isNull else { return nil }
        guard case .object = value, let type = value["type"]?.stringValue else {
            throw .invalid("response_format", "must be an object with a type")
        }
        switch type {
        case "text": return nil
        case "json_object": return (jsonObjectInstruction, nil)
        case "json_schema":
            guard let format = value["json_schema"], case .object = format else { throw .invalid("response_format.json_schema", "field required") }
            let schema = format["schema"] ?? .object([])
            guard case .object = schema else { throw .invalid("response_format.json_schema.schema", "must be an object") }
            if let problem = StructuredOutput.schemaProblem(schema, path: "response_format.json_schema.schema") {
                throw .invalid(problem.field, problem.message)
            }
            return (StructuredOutput.instruction(for: schema), schema)
        default:
            throw .invalid("response_format.type", "must be one of text, json_object, json_schema")
        }
    }
}
