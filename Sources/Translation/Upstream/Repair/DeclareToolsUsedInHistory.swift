import ProxyModels

/// Declares every tool that history calls but the request does not declare: the upstream refuses history that
/// calls an undeclared tool, which happens when a client drops a tool between turns or sends no tools at all.
///
/// The declaration has an open schema; for a tool a `tool_removal` took away, its description tells the model the
/// tool is gone. Relies on the tool passes before it: only tools still undeclared after them are added.
package struct DeclareToolsUsedInHistory: RepairPass {
    package var name: String { "declare-tools-used-in-history" }

    package init() {}

    package func apply(to draft: inout UpstreamDraft) {
        var declared = Set<String>()
        for tool in draft.tools { declared.insert(draft.toolNames.upstreamName(for: tool.name)) }
        for message in draft.messages {
            for case .toolUse(let use) in message.content {
                guard declared.insert(draft.toolNames.upstreamName(for: use.name)).inserted else { continue }
                let description =
                    draft.removedTools.contains(use.name) ? "The tool \(use.name) is no longer available; do not call it." : "Tool \(use.name)"
                draft.tools.append(.init(name: use.name, description: description, inputSchema: ["type": "object"]))
                draft.repairs.append("declared tool \"\(use.name)\" used in history but missing from tools")
            }
        }
    }
}
