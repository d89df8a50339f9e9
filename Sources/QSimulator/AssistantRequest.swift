import ProxyModels

/// The parts of a validated `GenerateAssistantResponse` body that shape the reply.
struct AssistantRequest: Sendable {
    /// One tool result of the current message.
    struct ToolResult: Sendable, Equatable {
        var toolUseID: String
        /// The `text` blocks joined, with `json` blocks in compact JSON.
        var text: String
    }

    /// One message of `conversationState.history`, reduced to what plans and `recall:` read.
    struct PriorMessage: Sendable, Equatable {
        enum Role: Sendable, Equatable {
            case user
            case assistant
        }

        var role: Role
        /// A user message's `content` and then each tool result's text, separated by newlines; an assistant
        /// message's `content`.
        var text: String
    }

    var conversationID: String
    /// `currentMessage.userInputMessage.content`.
    var content: String
    var toolResults: [ToolResult]
    /// `conversationState.history`, oldest first.
    var history: [PriorMessage] = []
    var modelID: String?
    /// A 400 the service gives for a well-formed body (content over the limit, an unknown model). It is
    /// kept apart from shape errors so that the body still counts as well-formed for
    /// ``SimulatorState/lastRequestBody``.
    var rejection: QServiceError?
    /// The top-level `profileArn`: failure directives may be limited to one account with it.
    var profileARN: String? = nil
}
