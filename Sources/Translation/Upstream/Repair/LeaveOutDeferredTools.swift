/// Leaves deferred tools (`defer_loading`) out of the tools to declare until the conversation loads them, and
/// Claude Code's `DeferredToolPlaceholder` always: the upstream cannot search tools, and declaring hundreds of
/// MCP tools up front overflows its limits.
///
/// A deferred tool is loaded by a `tool_reference` in a result, by a `tool_addition`, or by history that used
/// it; with a tool-search tool declared, the upstream gets every deferred tool, since it cannot search. Relies on
/// ``PairToolResults`` (a `tool_reference` in a result that became text loads nothing) and ``ApplyToolChanges``.
package struct LeaveOutDeferredTools: RepairPass {
    package var name: String { "leave-out-deferred-tools" }

    package init() {}

    package func apply(to draft: inout UpstreamDraft) {
        var loaded = Set<String>()
        for message in draft.messages {
            for block in message.content {
                switch block {
                case .toolUse(let use): loaded.insert(use.name)
                case .toolResult(let result):
                    for case .toolReference(let name) in result.content { loaded.insert(name) }
                case .toolChange(let change) where change.added: loaded.insert(change.name)
                default: break
                }
            }
        }
        let searchable = draft.conversation.toolSearch
        var leftOut = 0
        draft.tools.removeAll { tool in
            // Claude Code's placeholder only stands for "there are deferred tools"; it is never a tool to call.
            if tool.name == UpstreamRequestBuilder.deferredToolPlaceholder && tool.deferLoading { return true }
            guard tool.deferLoading && !searchable && !loaded.contains(tool.name) else { return false }
            leftOut += 1
            return true
        }
        if leftOut > 0 { draft.repairs.append("left \(leftOut) deferred tool(s) out until a tool_reference loads them") }
    }
}
