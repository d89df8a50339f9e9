import ProxyModels

/// A conversation on its way to the upstream, as the ``RepairPass``es change it: the turns and tools to send,
/// the names the upstream sees, and a note of every change.
///
/// It starts as a copy of the client's conversation; after the passes it holds what the upstream accepts: user
/// and assistant turns alternating, starting and ending with a user turn; every tool use of an assistant turn
/// answered by exactly one result in the next turn; every tool declared once, with an upstream name, a
/// description and a clean schema. ``UpstreamRequestRenderer`` renders it through the request template.
package struct UpstreamDraft: Sendable {
    /// The client's conversation with only its own `context_management` edits applied. Input tokens are counted on
    /// it, and passes and the renderer read its settings (system prompt, tool choice, thinking) from it.
    package var conversation: Conversation
    /// The turns to send; most passes repair these.
    package var messages: [Conversation.Message]
    /// The tools to declare, under the client's names (``toolNames`` holds the upstream's).
    package var tools: [Conversation.Tool]
    /// Tools a `tool_removal` took away: history that used one declares it as gone.
    package var removedTools: Set<String> = []
    /// Client tool names ↔ names the upstream accepts.
    package var toolNames = ToolNameMap()
    /// Full texts of descriptions too long for the upstream; the renderer puts them before the user's message.
    package var toolDocumentation: [String] = []
    /// Instructions added after the user's last message (OpenAI `response_format`, `tool_choice`).
    package var instructions: [String]
    /// Claude `context_management.applied_edits`: what the context edits cleared.
    package var appliedEdits: [JSONValue] = []
    /// Human-readable notes of every repair, in the order the passes made them.
    package var repairs: [String] = []

    package init(_ conversation: Conversation) {
        self.conversation = conversation
        self.messages = conversation.messages
        self.tools = conversation.tools
        self.instructions = conversation.extraInstructions
    }
}
