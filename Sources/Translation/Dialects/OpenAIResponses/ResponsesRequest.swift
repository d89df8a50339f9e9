import ProxyModels

/// A decoded Responses API request: the neutral conversation, plus what the response object echoes and what
/// the output needs to put the model's tool calls back in the client's terms.
package struct ResponsesRequest: DialectRequest {
    package var conversation: Conversation
    /// This request's own input items, normalised (a string input becomes one user message item): kept with a
    /// stored response so that `previous_response_id` can continue from it.
    package var input: [JSONValue]
    /// The items of the stored conversation this request continues (`previous_response_id`), filled by `prepare`.
    package var history: [JSONValue] = []
    package var previousResponseID: String?
    /// `store` (default true): keep the response for `GET /v1/responses/{id}` and `previous_response_id`.
    package var store: Bool
    /// `include: ["reasoning.encrypted_content"]`: reasoning items carry their content in `encrypted_content`.
    package var includeEncryptedReasoning: Bool
    /// `reasoning.summary` was asked for: reasoning is shown as summary text (else reasoning items have no text).
    package var reasoningSummary: Bool
    /// Custom (free-form) tools by name: their calls go out as `custom_tool_call` with a string `input`.
    package var customTools: Set<String> = []
    /// Tools of a `namespace` tool (Codex's MCP servers), by the flat name the model sees: the call goes out
    /// with the namespace and the bare name.
    package var namespacedTools: [String: NamespacedTool] = [:]
    /// The request comes from Codex (its `client_metadata` names its installation).
    package var fromCodex = false
    /// `instructions`: they apply to this request only, also when it continues a stored conversation.
    package var instructions: String?
    /// The request's settings as the response object echoes them (`instructions`, `tools`, `tool_choice`, …).
    package var echo: [JSONMember]

    package struct NamespacedTool: Sendable, Equatable {
        package var namespace: String
        package var name: String
    }

    /// The name the client knows a tool by, and its namespace when it has one.
    func clientName(of flatName: String) -> (name: String, namespace: String?) {
        if let tool = namespacedTools[flatName] { return (tool.name, tool.namespace) }
        return (flatName, nil)
    }
}
