/// Sends thinking from earlier turns back as `<thinking>…</thinking>` text: the upstream has no thinking blocks
/// in history and cannot check their signatures, yet the model should still see its earlier reasoning.
///
/// It also notes the `redacted_thinking` blocks the decoders left out: only Anthropic's models can read them.
package struct ReplayThinkingAsText: RepairPass {
    package var name: String { "replay-thinking-as-text" }

    package init() {}

    package func apply(to draft: inout UpstreamDraft) {
        if draft.conversation.droppedRedactedThinking > 0 {
            draft.repairs.append(
                "dropped \(draft.conversation.droppedRedactedThinking) redacted_thinking block(s): only Anthropic's models can read them")
        }
        var replayed = 0
        for index in draft.messages.indices {
            draft.messages[index].content = draft.messages[index].content.map { block in
                guard case .thinking(let text) = block else { return block }
                replayed += 1
                return .text("<thinking>\(text)</thinking>")
            }
        }
        if replayed > 0 { draft.repairs.append("turned \(replayed) thinking block(s) in history into tagged text") }
    }
}
