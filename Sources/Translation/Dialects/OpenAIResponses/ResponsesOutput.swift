import ProxyModels

/// The output items of one response as they build up from the neutral reply events: one `message` per text
/// block, one `reasoning` per thinking block, one `function_call` (or `custom_tool_call`) per tool call.
///
/// The stream and the whole-reply body both build their items here, so the items a stream announces are the
/// ones `GET /v1/responses/{id}` later returns.
struct ResponsesOutput: Sendable {
    enum Kind: Sendable {
        case message
        case reasoning
        case functionCall(callID: String, name: String, namespace: String?)
        case customToolCall(callID: String, name: String)
    }

    struct Item: Sendable {
        var kind: Kind
        var id: String
        /// The message text, the reasoning text, or the call's arguments (JSON text).
        var text = ""
        var signature = ""
        var done = false
    }

    let request: ResponsesRequest
    let responseID: String
    private(set) var items: [Item] = []
    private var byBlock: [Int: Int] = [:]

    init(request: ResponsesRequest, responseID: String) {
        self.request = request
        self.responseID = responseID
    }

    /// The items of a whole reply.
    init(request: ResponsesRequest, responseID: String, reply: ReplyAccumulator) {
        self.init(request: request, responseID: responseID)
        for (index, block) in reply.blocks.enumerated() {
            switch block {
            case .text(let text):
                _ = open(block: index, .text)
                items[items.count - 1].text = text
            case .thinking(let text, let signature):
                _ = open(block: index, .thinking)
                items[items.count - 1].text = text
                items[items.count - 1].signature = signature
            case .toolUse(let id, let name, let json):
                _ = open(block: index, .toolUse(id: id, name: name))
                items[items.count - 1].text = json
            }
            _ = close(block: index)
        }
    }

    /// Opens the item of a reply block. - Returns: its output index.
    mutating func open(block: Int, _ kind: ReplyBlock) -> Int {
        let index = items.count
        let suffix = responseID.drop { $0 != "_" }.dropFirst()
        switch kind {
        case .text:
            items.append(Item(kind: .message, id: "msg_\(suffix)\(index)"))
        case .thinking:
            items.append(Item(kind: .reasoning, id: "rs_\(suffix)\(index)"))
        case .toolUse(let callID, let flatName):
            if request.customTools.contains(flatName) {
                items.append(Item(kind: .customToolCall(callID: callID, name: flatName), id: "ctc_\(suffix)\(index)"))
            } else {
                let (name, namespace) = request.clientName(of: flatName)
                items.append(Item(kind: .functionCall(callID: callID, name: name, namespace: namespace), id: "fc_\(suffix)\(index)"))
            }
        }
        byBlock[block] = index
        return index
    }

    func outputIndex(ofBlock block: Int) -> Int? { byBlock[block] }

    mutating func append(_ text: String, toBlock block: Int) {
        guard let index = byBlock[block] else { return }
        items[index].text += text
    }

    mutating func sign(block: Int, _ signature: String) {
        guard let index = byBlock[block] else { return }
        items[index].signature = signature
    }

    /// Marks a block's item done. - Returns: its output index.
    mutating func close(block: Int) -> Int? {
        guard let index = byBlock[block] else { return nil }
        items[index].done = true
        return index
    }

    // MARK: - JSON

    /// An item as the API shows it: `in_progress` and empty when added, whole when done.
    func json(_ index: Int, forStore: Bool = false) -> JSONValue {
        let item = items[index]
        let status: JSONValue = item.done ? "completed" : "in_progress"
        switch item.kind {
        case .message:
            let content: JSONValue = item.done ? [Self.textPart(item.text)] : []
            return ["id": .string(item.id), "type": "message", "status": status, "role": "assistant", "content": content]
        case .reasoning:
            var members: [JSONMember] = [JSONMember("id", .string(item.id)), JSONMember("type", "reasoning")]
            let text = reasoningText(item)
            let summary: JSONValue = item.done && request.reasoningSummary && !text.isEmpty ? [Self.summaryPart(text)] : []
            members.append(JSONMember("summary", summary))
            if item.done && (request.includeEncryptedReasoning || forStore) {
                // The content q2api needs to replay this reasoning: a signature that carries the text.
                members.append(JSONMember("encrypted_content", .string(ThinkingSignature.sign(text, carryingText: true))))
            }
            return .object(members)
        case .functionCall(let callID, let name, let namespace):
            var members: [JSONMember] = [
                JSONMember("id", .string(item.id)), JSONMember("type", "function_call"), JSONMember("status", status),
                JSONMember("arguments", .string(item.done ? arguments(item) : "")), JSONMember("call_id", .string(callID)),
                JSONMember("name", .string(name)),
            ]
            if let namespace { members.append(JSONMember("namespace", .string(namespace))) }
            return .object(members)
        case .customToolCall(let callID, let name):
            return [
                "id": .string(item.id), "type": "custom_tool_call", "status": status, "call_id": .string(callID), "name": .string(name),
                "input": .string(item.done ? customInput(item) : ""),
            ]
        }
    }

    /// Every item that is done, in order: the `output` of a response.
    func doneItems(forStore: Bool = false) -> [JSONValue] {
        items.indices.filter { items[$0].done }.map { json($0, forStore: forStore) }
    }

    /// The reasoning of a thinking block: its text, or (display omitted) what its signature carries.
    func reasoningText(_ item: Item) -> String {
        item.text.isEmpty ? (ThinkingSignature.carriedText(item.signature) ?? "") : item.text
    }

    /// The tokens of reasoning in this output (q2api's estimate: the upstream does not count them apart).
    var reasoningTokens: Int {
        items.reduce(0) { total, item in
            guard case .reasoning = item.kind else { return total }
            let text = reasoningText(item)
            return total + (text.isEmpty ? 0 : TokenEstimator.tokens(in: text))
        }
    }

    /// The reply calls a tool (then it is not held to a structured-output schema).
    var callsTools: Bool {
        items.contains { item in
            switch item.kind {
            case .functionCall, .customToolCall: true
            case .message, .reasoning: false
            }
        }
    }

    /// The text of every message, for structured output.
    var messageText: String {
        items.compactMap { if case .message = $0.kind { $0.text } else { nil } }.joined()
    }

    func arguments(_ item: Item) -> String {
        item.text.isEmpty ? "{}" : item.text
    }

    /// A custom tool's free-form input: the `input` string q2api asked the model for.
    func customInput(_ item: Item) -> String {
        guard let parsed = try? JSONParser.parse(item.text), let input = parsed["input"]?.stringValue else { return item.text }
        return input
    }

    static func textPart(_ text: String) -> JSONValue {
        ["type": "output_text", "text": .string(text), "annotations": [], "logprobs": []]
    }

    static func summaryPart(_ text: String) -> JSONValue {
        ["type": "summary_text", "text": .string(text)]
    }
}
