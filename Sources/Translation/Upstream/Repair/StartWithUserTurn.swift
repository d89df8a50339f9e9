/// Puts a neutral user turn before a conversation that starts with an assistant turn: the upstream's history must
/// start with the user's turn.
///
/// Relies on ``MergeConsecutiveTurns``: after it, a leading assistant turn is followed by a user turn, so the
/// inserted turn keeps the alternation.
package struct StartWithUserTurn: RepairPass {
    package var name: String { "start-with-user-turn" }

    package init() {}

    package func apply(to draft: inout UpstreamDraft) {
        guard draft.messages.first?.role == .assistant else { return }
        draft.messages.insert(.init(role: .user, content: [.text(UpstreamRequestBuilder.emptyPlaceholder)]), at: 0)
        draft.repairs.append("added a user turn before a leading assistant message")
    }
}
