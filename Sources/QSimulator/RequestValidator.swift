import ProxyModels

/// Checks a `GenerateAssistantResponse` body the way the real service does (AMAZON_Q.md §2, §9) and
/// extracts what the reply needs.
///
/// The real service answers nearly every broken body with the same opaque `Improperly formed request.`;
/// the simulator sends that too, plus a description of the broken rule in the thrown error's `violation`,
/// so that a proxy bug shows up in a test as the rule it broke.
///
/// ```swift
/// let request = try RequestValidator(models: options.models).validate(body)
/// ```
struct RequestValidator: Sendable {
    /// The service's limit on a user message's `content`, in characters (AMAZON_Q.md §2.13).
    static let maximumContentLength = 600_000
    /// At most this many images per request, over all messages.
    static let maximumImages = 10
    static let imageFormats: Set<String> = ["png", "jpeg", "gif", "webp"]
    static let maximumToolNameLength = 64

    /// The accepted `modelId` values.
    var models: [String]

    /// One history or current message, with where it sits for error messages.
    private enum Message {
        case user(JSONValue, path: String)
        case assistant(JSONValue, path: String)
    }

    /// - Returns: The request. Content over the limit or an unknown `modelId` is not thrown but returned
    ///   as its `rejection` (in that order of precedence), because such a body is still well-formed.
    /// - Throws: ``QServiceError/improperlyFormed(_:)`` (400) for the first shape violation.
    func validate(_ body: JSONValue) throws(QServiceError) -> AssistantRequest {
        if let path = Self.firstNull(in: body, path: "body") {
            throw .improperlyFormed("null value at \(path)")
        }
        guard case .object = body else { throw .improperlyFormed("body is not a JSON object") }
        guard let state = body["conversationState"], case .object = state else {
            throw .improperlyFormed("conversationState is missing or not an object")
        }
        guard let conversationID = state["conversationId"]?.stringValue, !conversationID.isEmpty else {
            throw .improperlyFormed("conversationState.conversationId is missing, empty or not a string")
        }
        guard state["chatTriggerType"]?.stringValue == "MANUAL" else {
            throw .improperlyFormed("conversationState.chatTriggerType must be \"MANUAL\"")
        }
        guard let current = state["currentMessage"]?["userInputMessage"], case .object = current else {
            throw .improperlyFormed("conversationState.currentMessage.userInputMessage is missing or not an object")
        }

        var messages = try Self.historyMessages(state["history"])
        if let last = messages.last, case .user = last {
            throw .improperlyFormed("history must end with an assistant message, so that currentMessage follows one")
        }
        let currentPath = "conversationState.currentMessage.userInputMessage"
        messages.append(.user(current, path: currentPath))

        var tooLong: String?
        var imageCount = 0
        var previousToolUseIDs: [String] = []
        var historyToolNames: [(name: String, path: String)] = []
        for (index, message) in messages.enumerated() {
            switch message {
            case .user(let user, let path):
                let user = try Self.checkUser(user, path: path)
                imageCount += user.imageCount
                if user.contentLength > Self.maximumContentLength, tooLong == nil {
                    tooLong = "\(path).content has \(user.contentLength) characters; the limit is \(Self.maximumContentLength)"
                }
                try Self.checkPairing(results: user.toolResultIDs, toolUses: previousToolUseIDs, isFirst: index == 0, path: path)
                previousToolUseIDs = []
            case .assistant(let assistant, let path):
                let toolUses = try Self.checkAssistant(assistant, path: path)
                previousToolUseIDs = toolUses.map(\.id)
                historyToolNames += toolUses.map { (name: $0.name, path: $0.path) }
            }
        }
        if imageCount > Self.maximumImages {
            throw .improperlyFormed("\(imageCount) images in the request; at most \(Self.maximumImages) are allowed")
        }

        let toolNames = try Self.checkTools(current["userInputMessageContext"]?["tools"])
        for use in historyToolNames where !toolNames.contains(use.name) {
            throw .improperlyFormed("\(use.path) names tool '\(use.name)', which is not declared in \(currentPath).userInputMessageContext.tools")
        }

        var rejection = tooLong.map { QServiceError.inputTooLong(violation: $0) }
        let modelID = current["modelId"]
        if rejection == nil, let modelID {
            if let model = modelID.stringValue, self.models.contains(model) {
                // Known model.
            } else {
                rejection = .invalidModel(
                    "\(currentPath).modelId \(modelID.jsonString) is not one of \(self.models.joined(separator: ", "))"
                )
            }
        }
        return AssistantRequest(
            conversationID: conversationID,
            content: current["content"]?.stringValue ?? "",
            toolResults: Self.toolResults(of: current),
            history: messages.dropLast().map(Self.priorMessage),
            modelID: modelID?.stringValue,
            rejection: rejection,
            profileARN: body["profileArn"]?.stringValue
        )
    }

    // MARK: - History

    private static func historyMessages(_ history: JSONValue?) throws(QServiceError) -> [Message] {
        guard let history else { return [] }
        guard let entries = history.arrayValue else { throw .improperlyFormed("conversationState.history is not an array") }
        var messages: [Message] = []
        for (index, entry) in entries.enumerated() {
            let path = "conversationState.history[\(index)]"
            guard let members = entry.objectValue, members.count == 1, let member = members.first,
                case .object = member.value
            else {
                throw .improperlyFormed("\(path) must be an object with exactly one key, userInputMessage or assistantResponseMessage")
            }
            let message: Message
            switch member.key {
            case "userInputMessage": message = .user(member.value, path: "\(path).userInputMessage")
            case "assistantResponseMessage": message = .assistant(member.value, path: "\(path).assistantResponseMessage")
            default: throw .improperlyFormed("\(path) has unknown key '\(member.key)'")
            }
            switch (messages.last, message) {
            case (nil, .assistant):
                throw .improperlyFormed("history must start with a user message")
            case (.user?, .user), (.assistant?, .assistant):
                throw .improperlyFormed("\(path) has the same role as the entry before it; history must alternate")
            default:
                messages.append(message)
            }
        }
        return messages
    }

    // MARK: - Messages

    private struct UserSummary {
        var contentLength: Int
        var toolResultIDs: [String]
        var imageCount: Int
    }

    private static func checkUser(_ message: JSONValue, path: String) throws(QServiceError) -> UserSummary {
        guard let content = message["content"]?.stringValue else {
            throw .improperlyFormed("\(path).content is missing or not a string")
        }
        var resultIDs: [String] = []
        if let context = message["userInputMessageContext"] {
            guard case .object = context else { throw .improperlyFormed("\(path).userInputMessageContext is not an object") }
            if let results = context["toolResults"] {
                resultIDs = try self.checkToolResults(results, path: "\(path).userInputMessageContext.toolResults")
            }
        }
        if content.isEmpty, resultIDs.isEmpty {
            throw .improperlyFormed("\(path).content is empty and the message has no toolResults")
        }
        var imageCount = 0
        if let images = message["images"] {
            guard let list = images.arrayValue else { throw .improperlyFormed("\(path).images is not an array") }
            for (index, image) in list.enumerated() {
                let format = image["format"]?.stringValue ?? ""
                guard Self.imageFormats.contains(format) else {
                    throw .improperlyFormed("\(path).images[\(index)].format '\(format)' is not one of png, jpeg, gif, webp")
                }
                guard image["source"]?["bytes"]?.stringValue != nil else {
                    throw .improperlyFormed("\(path).images[\(index)].source.bytes is missing or not a string")
                }
            }
            imageCount = list.count
        }
        return UserSummary(contentLength: content.unicodeScalars.count, toolResultIDs: resultIDs, imageCount: imageCount)
    }

    private static func checkToolResults(_ results: JSONValue, path: String) throws(QServiceError) -> [String] {
        guard let list = results.arrayValue else { throw .improperlyFormed("\(path) is not an array") }
        var ids: [String] = []
        for (index, result) in list.enumerated() {
            let itemPath = "\(path)[\(index)]"
            guard let id = result["toolUseId"]?.stringValue, !id.isEmpty else {
                throw .improperlyFormed("\(itemPath).toolUseId is missing or empty")
            }
            guard let blocks = result["content"]?.arrayValue else {
                throw .improperlyFormed("\(itemPath).content is missing or not an array")
            }
            for (blockIndex, block) in blocks.enumerated() {
                let isText = block["text"]?.stringValue != nil
                let isJSON = block["json"] != nil
                guard case .object(let members) = block, members.count == 1, isText || isJSON else {
                    throw .improperlyFormed("\(itemPath).content[\(blockIndex)] must be {\"text\": string} or {\"json\": value}")
                }
            }
            if let status = result["status"], status.stringValue != "success", status.stringValue != "error" {
                throw .improperlyFormed("\(itemPath).status must be \"success\" or \"error\"")
            }
            ids.append(id)
        }
        return ids
    }

    private static func checkAssistant(
        _ message: JSONValue, path: String
    ) throws(QServiceError) -> [(id: String, name: String, path: String)] {
        guard message["content"]?.stringValue != nil else {
            throw .improperlyFormed("\(path).content is missing or not a string")
        }
        guard let toolUses = message["toolUses"] else { return [] }
        guard let list = toolUses.arrayValue else { throw .improperlyFormed("\(path).toolUses is not an array") }
        var uses: [(id: String, name: String, path: String)] = []
        for (index, use) in list.enumerated() {
            let usePath = "\(path).toolUses[\(index)]"
            guard let id = use["toolUseId"]?.stringValue, !id.isEmpty else {
                throw .improperlyFormed("\(usePath).toolUseId is missing or empty")
            }
            guard let name = use["name"]?.stringValue, !name.isEmpty else {
                throw .improperlyFormed("\(usePath).name is missing or empty")
            }
            guard let input = use["input"], case .object = input else {
                throw .improperlyFormed("\(usePath).input must be a JSON object")
            }
            uses.append((id: id, name: name, path: usePath))
        }
        return uses
    }

    /// The CLI's invariants (AMAZON_Q.md §2.9): results only right after an assistant message with tool
    /// uses, answering each of them exactly once, and never on the first message.
    private static func checkPairing(results: [String], toolUses: [String], isFirst: Bool, path: String) throws(QServiceError) {
        if isFirst {
            if !results.isEmpty {
                throw .improperlyFormed("\(path) is the first user message and must not carry toolResults")
            }
            return
        }
        if !results.isEmpty, toolUses.isEmpty {
            throw .improperlyFormed("\(path) has toolResults but the assistant message before it has no toolUses")
        }
        if Set(results) != Set(toolUses) || Set(results).count != results.count {
            throw .improperlyFormed(
                "\(path) toolResults ids [\(results.joined(separator: ", "))] do not match the previous toolUses ids [\(toolUses.joined(separator: ", "))]"
            )
        }
    }

    // MARK: - Tools

    /// Checks the CLI's three rules on every tool (AMAZON_Q.md §2.5) and returns the declared names.
    private static func checkTools(_ tools: JSONValue?) throws(QServiceError) -> Set<String> {
        guard let tools else { return [] }
        let path = "conversationState.currentMessage.userInputMessage.userInputMessageContext.tools"
        guard let list = tools.arrayValue else { throw .improperlyFormed("\(path) is not an array") }
        var names: Set<String> = []
        for (index, tool) in list.enumerated() {
            let toolPath = "\(path)[\(index)].toolSpecification"
            guard let spec = tool["toolSpecification"], case .object = spec else {
                throw .improperlyFormed("\(toolPath) is missing or not an object")
            }
            guard let name = spec["name"]?.stringValue else { throw .improperlyFormed("\(toolPath).name is missing") }
            guard Self.isValidToolName(name) else {
                throw .improperlyFormed("\(toolPath).name '\(name)' must match ^[a-zA-Z][a-zA-Z0-9_]*$ and have at most 64 characters")
            }
            guard let description = spec["description"]?.stringValue, !description.isEmpty else {
                throw .improperlyFormed("\(toolPath).description of '\(name)' is missing or empty")
            }
            guard let schema = spec["inputSchema"]?["json"], case .object = schema else {
                throw .improperlyFormed("\(toolPath).inputSchema.json of '\(name)' is missing or not an object")
            }
            names.insert(name)
        }
        return names
    }

    static func isValidToolName(_ name: String) -> Bool {
        let scalars = Array(name.unicodeScalars)
        guard let first = scalars.first, scalars.count <= Self.maximumToolNameLength, first.isASCIILetter else {
            return false
        }
        return scalars.allSatisfy { $0.isASCIILetter || ("0"..."9").contains($0) || $0 == "_" }
    }

    // MARK: - Helpers

    /// The path of the first JSON `null` in `value`: the service rejects explicit nulls anywhere, even
    /// inside tool schemas (AMAZON_Q.md §9, kiro.rs #71).
    static func firstNull(in value: JSONValue, path: String) -> String? {
        switch value {
        case .null:
            return path
        case .array(let items):
            for (index, item) in items.enumerated() {
                if let found = firstNull(in: item, path: "\(path)[\(index)]") { return found }
            }
            return nil
        case .object(let members):
            for member in members {
                if let found = firstNull(in: member.value, path: path == "body" ? member.key : "\(path).\(member.key)") {
                    return found
                }
            }
            return nil
        default:
            return nil
        }
    }

    private static func priorMessage(_ message: Message) -> AssistantRequest.PriorMessage {
        switch message {
        case .user(let user, _):
            let texts = [user["content"]?.stringValue ?? ""] + Self.toolResults(of: user).map(\.text)
            return AssistantRequest.PriorMessage(role: .user, text: texts.joined(separator: "\n"))
        case .assistant(let assistant, _):
            return AssistantRequest.PriorMessage(role: .assistant, text: assistant["content"]?.stringValue ?? "")
        }
    }

    private static func toolResults(of message: JSONValue) -> [AssistantRequest.ToolResult] {
        let results = message["userInputMessageContext"]?["toolResults"]?.arrayValue ?? []
        return results.map { result in
            let blocks = result["content"]?.arrayValue ?? []
            let text = blocks.map { block in block["text"]?.stringValue ?? block["json"]?.jsonString ?? "" }.joined()
            return AssistantRequest.ToolResult(toolUseID: result["toolUseId"]?.stringValue ?? "", text: text)
        }
    }
}

extension Unicode.Scalar {
    fileprivate var isASCIILetter: Bool {
        ("a"..."z").contains(self) || ("A"..."Z").contains(self)
    }
}
