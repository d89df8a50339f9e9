import ProxyModels

/// Turns Responses input items into neutral messages: consecutive items of one side form one turn (a
/// reasoning item, a message and the function calls of one assistant turn; the outputs that answer them).
///
/// Leading `system`/`developer` messages join the instructions; later ones stay where they are, as
/// instructions at that point of the conversation.
struct ResponsesInputDecoder {
    private(set) var messages: [Conversation.Message] = []
    private var leadingSystem: [String] = []
    /// Calls made so far (call id → the item's path), and outputs (call id → path), to pair them up as the API does.
    private var calls: [String: String] = [:]
    private var outputs: [(callID: String, path: String)] = []

    /// Every output answers a call, and every call has its output: the API refuses a conversation that does not
    /// pair them, and so does q2api rather than letting the model read a made-up result.
    func checkPairs() throws(RequestError) {
        let answered = Set(outputs.map(\.callID))
        for output in outputs where calls[output.callID] == nil {
            throw .invalid("\(output.path).call_id", "no function call found with call_id \"\(output.callID)\"")
        }
        if let (callID, path) = calls.first(where: { !answered.contains($0.key) }) {
            throw .invalid(path, "no tool output found for the call with call_id \"\(callID)\": send a function_call_output for it")
        }
    }

    /// `instructions` first, then the system and developer messages that open the input.
    func systemText(instructions: String?) -> String {
        ([instructions].compactMap { $0 }.filter { !$0.isEmpty } + leadingSystem).joined(separator: "\n\n")
    }

    mutating func add(_ items: [JSONValue], path: String) throws(RequestError) {
        for (index, item) in items.enumerated() {
            try add(item, path: "\(path).\(index)")
        }
    }

    mutating func add(_ item: JSONValue, path: String) throws(RequestError) {
        guard case .object = item else { throw .invalid(path, "must be an input item object") }
        if let id = item["id"], !id.isNull, id.stringValue == nil { throw .invalid("\(path).id", "must be a string") }
        let type = item["type"]?.stringValue ?? (item["role"] != nil ? "message" : "")
        switch type {
        case "message":
            try addMessage(item, path: path)
        case "reasoning":
            let text = Self.reasoningText(item)
            if !text.isEmpty { append(.thinking(text), as: .assistant) }
        case "function_call":
            guard let callID = item["call_id"]?.stringValue, !callID.isEmpty else { throw .invalid("\(path).call_id", "must be a non-empty string") }
            guard let name = item["name"]?.stringValue, !name.isEmpty else { throw .invalid("\(path).name", "must be a non-empty string") }
            let flatName = (item["namespace"]?.stringValue ?? "") + name
            calls[callID] = path
            append(
                .toolUse(
                    .init(id: callID, name: flatName, input: try OpenAIRequestDecoder.decodeArguments(item["arguments"], path: "\(path).arguments"))),
                as: .assistant)
        case "custom_tool_call":
            guard let callID = item["call_id"]?.stringValue, !callID.isEmpty else { throw .invalid("\(path).call_id", "must be a non-empty string") }
            guard let name = item["name"]?.stringValue, !name.isEmpty else { throw .invalid("\(path).name", "must be a non-empty string") }
            guard let input = item["input"]?.stringValue else { throw .invalid("\(path).input", "must be a string") }
            calls[callID] = path
            append(.toolUse(.init(id: callID, name: name, input: ["input": .string(input)])), as: .assistant)
        case "function_call_output", "custom_tool_call_output":
            guard let callID = item["call_id"]?.stringValue, !callID.isEmpty else { throw .invalid("\(path).call_id", "must be a non-empty string") }
            let parts = try Self.outputParts(item["output"], path: "\(path).output")
            outputs.append((callID, path))
            append(.toolResult(.init(toolUseID: callID, content: parts, isError: false)), as: .user)
        case "web_search_call":
            // Searches run by OpenAI in an earlier turn (Codex replays them): what was searched, as a note.
            let action = item["action"]
            let what = action?["query"]?.stringValue ?? action?["url"]?.stringValue ?? action?["pattern"]?.stringValue
            append(.text("[web search\(what.map { ": \($0)" } ?? "")]"), as: .assistant)
        case "item_reference":
            throw .invalid(path, "item references are not supported: send the item itself, or continue with previous_response_id")
        case "":
            throw .invalid("\(path).type", "field required")
        default:
            throw .invalid("\(path).type", "unsupported input item type \"\(type)\"")
        }
    }

    private mutating func addMessage(_ item: JSONValue, path: String) throws(RequestError) {
        guard let role = item["role"]?.stringValue else { throw .invalid("\(path).role", "field required") }
        switch role {
        case "system", "developer":
            let text = try OpenAIRequestDecoder.decodeText(item["content"], path: "\(path).content")
            guard !text.isEmpty else { return }
            if messages.isEmpty {
                leadingSystem.append(text)
            } else {
                messages.append(.init(role: .system, content: [.text(text)]))
            }
        case "user":
            for block in try Self.userContent(item["content"], path: "\(path).content") { append(block, as: .user) }
        case "assistant":
            let text = try OpenAIRequestDecoder.decodeText(item["content"], path: "\(path).content")
            if !text.isEmpty { append(.text(text), as: .assistant) }
        default:
            throw .invalid("\(path).role", "must be one of user, assistant, system, developer; got \"\(role)\"")
        }
    }

    /// Adds a block to the current turn when it is the same side's, else opens a new turn.
    private mutating func append(_ block: Conversation.ContentBlock, as role: Conversation.Role) {
        if let last = messages.indices.last, messages[last].role == role {
            messages[last].content.append(block)
        } else {
            messages.append(.init(role: role, content: [block]))
        }
    }

    /// The reasoning a reasoning item holds: its summaries, its reasoning text, or what q2api put in its `encrypted_content`.
    static func reasoningText(_ item: JSONValue) -> String {
        let summaries = (item["summary"]?.arrayValue ?? []).compactMap { $0["text"]?.stringValue }.filter { !$0.isEmpty }
        let contents = (item["content"]?.arrayValue ?? []).compactMap { $0["text"]?.stringValue }.filter { !$0.isEmpty }
        if !contents.isEmpty { return contents.joined(separator: "\n\n") }
        if let carried = item["encrypted_content"]?.stringValue.flatMap(ThinkingSignature.carriedText), !carried.isEmpty { return carried }
        return summaries.joined(separator: "\n\n")
    }

    /// A tool's output: a string, or a list of `input_text` / `input_image` parts.
    static func outputParts(_ value: JSONValue?, path: String) throws(RequestError) -> [Conversation.ToolResultPart] {
        switch value {
        case nil, .null?: return []
        case .string(let text)?: return text.isEmpty ? [] : [.text(text)]
        case .array?:
            return try userContent(value, path: path).compactMap { block in
                switch block {
                case .text(let text): .text(text)
                case .image(let image): .image(image)
                default: nil
                }
            }
        default: throw .invalid(path, "must be a string or an array of input_text and input_image parts")
        }
    }

    static func userContent(_ value: JSONValue?, path: String) throws(RequestError) -> [Conversation.ContentBlock] {
        switch value {
        case nil, .null?: throw .invalid(path, "field required")
        case .string(let text)?: return text.isEmpty ? [] : [.text(text)]
        case .array(let parts)?:
            var content: [Conversation.ContentBlock] = []
            for (index, part) in parts.enumerated() {
                let partPath = "\(path).\(index)"
                guard case .object = part else { throw .invalid(partPath, "must be a content part object") }
                switch part["type"]?.stringValue {
                case "input_text"?, "output_text"?, "text"?:
                    guard let text = part["text"]?.stringValue else { throw .invalid("\(partPath).text", "must be a string") }
                    if !text.isEmpty { content.append(.text(text)) }
                case "input_image"?:
                    if part["file_id"]?.stringValue != nil, part["image_url"]?.stringValue == nil {
                        throw .invalid("\(partPath).file_id", "uploaded files are not supported; send the image inline as a data URL")
                    }
                    guard let url = part["image_url"]?.stringValue else { throw .invalid("\(partPath).image_url", "field required") }
                    content.append(.image(try OpenAIRequestDecoder.decodeImageURL(url, path: "\(partPath).image_url")))
                case "input_file"?:
                    throw .invalid(
                        "\(partPath).type", "input_file is not supported: the upstream reads text and images only; send the file's text as input_text"
                    )
                case "input_audio"?:
                    throw .invalid("\(partPath).type", "input_audio is not supported: the upstream reads text and images only")
                case let type?:
                    throw .invalid("\(partPath).type", "unsupported content part type \"\(type)\"; input_text and input_image are supported")
                case nil:
                    throw .invalid("\(partPath).type", "field required")
                }
            }
            return content
        default:
            throw .invalid(path, "must be a string or an array of content parts")
        }
    }
}
