/// Gives every tool a description the upstream accepts: it refuses an empty description and one over 10,240
/// characters (AMAZON_Q.md §2.13).
///
/// An empty description becomes `Tool <name>`; a long one is cut, and its full text goes into the prompt's tool
/// documentation (``UpstreamDraft/toolDocumentation``), so the model still reads all of it. Relies on
/// ``NameToolsForUpstream`` for the name the documentation uses.
package struct BoundToolDescriptions: RepairPass {
    package var name: String { "bound-tool-descriptions" }

    package init() {}

    package func apply(to draft: inout UpstreamDraft) {
        for index in draft.tools.indices {
            let name = draft.tools[index].name
            var description = draft.tools[index].description.trimmingWhitespace()
            if description.isEmpty {
                description = "Tool \(name)"
                draft.repairs.append("gave tool \"\(name)\" a description (the upstream requires one)")
            } else if description.count > UpstreamRequestBuilder.maximumDescriptionLength {
                let upstreamName = draft.toolNames.upstreamName(for: name)
                draft.toolDocumentation.append("Tool: \(upstreamName)\nFull Description:\n\(description)\n")
                description =
                    String(description.prefix(UpstreamRequestBuilder.truncatedDescriptionLength))
                    + "\n\n...(Full description provided in TOOL DOCUMENTATION section)"
                draft.repairs.append("shortened the description of tool \"\(name)\" (full text moved into the prompt)")
            }
            draft.tools[index].description = description
        }
    }
}
