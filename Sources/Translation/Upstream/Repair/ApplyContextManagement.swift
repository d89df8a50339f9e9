import ProxyModels

/// Applies Claude's `context_management.edits` (clearing old thinking and old tool results), which the upstream
/// does not know: without this pass a long agent session keeps every old result and soon exceeds the context.
///
/// The edits change what the request means (what they cleared does not count as input, and `applied_edits`
/// reports it), so this pass edits ``UpstreamDraft/conversation`` itself and restarts the turns from it. It runs
/// first.
package struct ApplyContextManagement: RepairPass {
    package var name: String { "context-management" }

    package init() {}

    package func apply(to draft: inout UpstreamDraft) {
        draft.appliedEdits = ContextEditor.apply(&draft.conversation)
        draft.messages = draft.conversation.messages
        for edit in draft.appliedEdits { draft.repairs.append("context management: \(edit.jsonString)") }
    }
}
