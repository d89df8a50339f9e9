/// Gives every tool to declare a name the upstream accepts (`^[a-zA-Z][a-zA-Z0-9_]*$`, at most 64 characters)
/// and drops a second definition of the same tool: the upstream refuses MCP names like
/// `mcp__github__create-pull-request` and duplicate tool names.
///
/// The names are rewritten reversibly (``ToolNameMap``), so the client sees its own names in the reply's tool
/// uses. Names are assigned in the order of the tools, then of history (``DeclareToolsUsedInHistory``), so a
/// collision suffix is stable.
package struct NameToolsForUpstream: RepairPass {
    package var name: String { "name-tools-for-upstream" }

    package init() {}

    package func apply(to draft: inout UpstreamDraft) {
        var declared = Set<String>()
        var kept: [Conversation.Tool] = []
        for tool in draft.tools {
            let upstreamName = draft.toolNames.upstreamName(for: tool.name)
            guard declared.insert(upstreamName).inserted else {
                draft.repairs.append("dropped duplicate tool definition \"\(tool.name)\"")
                continue
            }
            if upstreamName != tool.name { draft.repairs.append("renamed tool \"\(tool.name)\" to \"\(upstreamName)\" for the upstream") }
            kept.append(tool)
        }
        draft.tools = kept
    }
}
