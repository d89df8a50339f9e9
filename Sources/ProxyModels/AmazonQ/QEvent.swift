/// One event of an Amazon Q reply stream, decoded from an event-stream frame (AMAZON_Q.md §5).
package enum QEvent: Sendable, Equatable {
    /// The first frame; carries the conversation id.
    case initialResponse(conversationID: String?)
    /// A text delta (`assistantResponseEvent`, `codeEvent`).
    case text(String)
    /// A tool-use fragment: the first has no input, the last has `stop: true`.
    case toolUse(id: String, name: String, input: String?, stop: Bool)
    /// Structured reasoning (`reasoningContentEvent`).
    case reasoning(text: String?, signature: String?)
    /// Real token usage (`metadataEvent.tokenUsage`).
    case usage(QTokenUsage)
    /// A `codeReferenceEvent`: the CLI drops the text event right before it.
    case codeReference
    /// A modelled or unmodelled error frame inside the stream.
    case failure(QUpstreamFailure)
    /// Any other event type; ignorable by design.
    case ignored(String)
}

/// Token usage as the upstream reports it, when it does.
package struct QTokenUsage: Sendable, Equatable {
    package var uncachedInputTokens: Int?
    package var outputTokens: Int?
    package var cacheReadInputTokens: Int?
    package var cacheWriteInputTokens: Int?

    package init(uncachedInputTokens: Int? = nil, outputTokens: Int? = nil, cacheReadInputTokens: Int? = nil, cacheWriteInputTokens: Int? = nil) {
        self.uncachedInputTokens = uncachedInputTokens
        self.outputTokens = outputTokens
        self.cacheReadInputTokens = cacheReadInputTokens
        self.cacheWriteInputTokens = cacheWriteInputTokens
    }
}

extension QEvent {
    /// Builds an event from a frame's `:event-type` and JSON payload.
    ///
    /// Payload members sit at the top level; a payload wrapped in a key named after the event is
    /// unwrapped defensively (AMAZON_Q.md §5.2).
    package static func from(eventType: String, payload: JSONValue) -> QEvent {
        var payload = payload
        if let inner = payload[eventType], case .object = inner { payload = inner }
        switch eventType {
        case "initial-response":
            return .initialResponse(conversationID: payload["conversationId"]?.stringValue)
        case "assistantResponseEvent", "codeEvent":
            return .text(payload["content"]?.stringValue ?? "")
        case "toolUseEvent":
            let input: String?
            switch payload["input"] {
            case .string(let text)?: input = text
            case nil, .null?: input = nil
            case let other?: input = other.jsonString
            }
            return .toolUse(
                id: payload["toolUseId"]?.stringValue ?? "", name: payload["name"]?.stringValue ?? "", input: input,
                stop: payload["stop"]?.boolValue ?? false)
        case "reasoningContentEvent":
            return .reasoning(text: payload["text"]?.stringValue, signature: payload["signature"]?.stringValue)
        case "metadataEvent":
            guard let usage = payload["tokenUsage"] else { return .ignored(eventType) }
            return .usage(
                QTokenUsage(
                    uncachedInputTokens: usage["uncachedInputTokens"]?.intValue, outputTokens: usage["outputTokens"]?.intValue,
                    cacheReadInputTokens: usage["cacheReadInputTokens"]?.intValue,
                    cacheWriteInputTokens: usage["cacheWriteInputTokens"]?.intValue))
        case "codeReferenceEvent":
            return .codeReference
        default:
            return .ignored(eventType)
        }
    }
}
