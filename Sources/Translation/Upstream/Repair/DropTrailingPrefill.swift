/// Drops assistant turns at the end of the conversation (a "prefill"): deprecated for Claude 4 and refused by the
/// upstream, whose last turn must be the user's.
///
/// A conversation with no turn left is the one thing no repair can fix: it is refused as a 400.
package struct DropTrailingPrefill: RepairPass {
    package var name: String { "drop-trailing-prefill" }

    package init() {}

    package func apply(to draft: inout UpstreamDraft) throws(RequestError) {
        var dropped = 0
        while let last = draft.messages.last, last.role == .assistant {
            draft.messages.removeLast()
            dropped += 1
        }
        if dropped > 0 { draft.repairs.append("dropped \(dropped) trailing assistant message(s) (prefill)") }
        guard !draft.messages.isEmpty else {
            throw .invalid("messages", "the conversation must contain a user message")
        }
    }
}
