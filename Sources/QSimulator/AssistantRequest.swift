import ProxyModels

/// The parts of a validated `GenerateAssistantResponse` body that shape the reply.
struct AssistantRequest: Sendable {
    /// One tool result of the current message.
    struct ToolResult: Sendable, Equatable {
        var toolUseID: String
        /// The `text` blocks joined, with `json` blocks in compact JSON.
        var text: String
    }

    var conversationID: String
    /// `currentMessage.userInputMessage.content`.
    var content: String
    var toolResults: [ToolResult]
    var modelID: String?
    /// A 400 the service gives for a well-formed body (content over the limit, an unknown model). It is
    /// kept apart from shape errors so that the body still counts as well-formed for
    /// ``SimulatorState/lastRequestBody``.
    var rejection: QServiceError?
    /// The top-level `profileArn`: failure directives may be limited to one account with it.
    var profileArn: String? = nil
}
