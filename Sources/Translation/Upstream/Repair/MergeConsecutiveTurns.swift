/// Merges runs of turns of the same role into one turn, keeping every block: the upstream requires user and
/// assistant turns to alternate strictly.
///
/// Keeping every block matters: clients send each tool result as its own user message, and dropping all but one
/// makes the model call the same tools again forever.
package struct MergeConsecutiveTurns: RepairPass {
    package var name: String { "merge-consecutive-turns" }

    package init() {}

    package func apply(to draft: inout UpstreamDraft) {
        var merged: [Conversation.Message] = []
        var merges = 0
        for message in draft.messages {
            if let last = merged.last, last.role == message.role {
                merged[merged.count - 1].content += message.content
                merges += 1
            } else {
                merged.append(message)
            }
        }
        if merges > 0 { draft.repairs.append("merged \(merges) consecutive same-role message(s)") }
        draft.messages = merged
    }
}
