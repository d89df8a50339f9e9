/// Gives an assistant turn with neither text nor tool uses a neutral placeholder text: the upstream refuses an
/// empty assistant message, and clients send one after a turn that was interrupted or only thought.
///
/// The placeholder is ``UpstreamRequestBuilder/emptyPlaceholder``, never a text saying something was cancelled,
/// which makes the model retry forever. Empty user turns are the renderer's: whether one is empty depends on the
/// template's rendering of its instructions.
package struct FillEmptyAssistantTurns: RepairPass {
    package var name: String { "fill-empty-assistant-turns" }

    package init() {}

    package func apply(to draft: inout UpstreamDraft) {
        for index in draft.messages.indices where draft.messages[index].role == .assistant && Self.isEmpty(draft.messages[index]) {
            draft.messages[index].content.removeAll { if case .text = $0 { true } else { false } }
            draft.messages[index].content.insert(.text(UpstreamRequestBuilder.emptyPlaceholder), at: 0)
            draft.repairs.append("gave an empty assistant turn placeholder content")
        }
    }

    /// Nothing the renderer would send: no tool use, no tool change note, only blank text.
    static func isEmpty(_ message: Conversation.Message) -> Bool {
        message.content.allSatisfy { block in
            switch block {
            case .text(let text): text.trimmingWhitespace().isEmpty
            case .toolUse, .toolChange: false
            default: true
            }
        }
    }
}
