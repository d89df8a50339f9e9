/// Turns the client's `tool_choice` into an instruction after the user's message: the upstream has no tool
/// choice, so "call no tool", "call some tool" and "call this tool" can only be asked for in words.
///
/// Relies on the tool passes: a named tool is called by its upstream name.
package struct ToolChoiceAsInstruction: RepairPass {
    package var name: String { "tool-choice-as-instruction" }

    package init() {}

    package func apply(to draft: inout UpstreamDraft) {
        switch draft.conversation.toolChoice {
        case .auto: break
        case .none: draft.instructions.append("Do not call any tools in this reply; answer with text only.")
        case .any: draft.instructions.append("You must call at least one of the available tools in this reply.")
        case .named(let name): draft.instructions.append("You must call the tool \"\(draft.toolNames.upstreamName(for: name))\" in this reply.")
        }
    }
}
