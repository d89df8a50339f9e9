/// Turns system-role messages inside `messages` (Claude Code 2.1 sends one after the prompt) into instructions
/// of a user turn at the same place: the upstream has no system role and refuses the turn.
///
/// Only their text and tool changes are kept; ``MergeConsecutiveTurns`` then joins the new user turn to the
/// adjacent one, and the renderer shows the instructions beside the user's text, not inside its envelope.
package struct FoldSystemMessages: RepairPass {
    package var name: String { "fold-system-messages" }

    package init() {}

    package func apply(to draft: inout UpstreamDraft) {
        var folded = 0
        draft.messages = draft.messages.map { message in
            guard message.role == .system else { return message }
            folded += 1
            let text = message.content.compactMap { if case .text(let text) = $0 { text } else { nil } }.joined(separator: "\n")
            let changes = message.content.filter { if case .toolChange = $0 { true } else { false } }
            return .init(role: .user, content: (text.isEmpty ? [] : [.instruction(text)]) + changes)
        }
        if folded > 0 { draft.repairs.append("folded \(folded) system-role message(s) into the adjacent user turn") }
    }
}
