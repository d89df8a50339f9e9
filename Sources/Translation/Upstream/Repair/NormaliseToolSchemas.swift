import ProxyModels

/// Cleans every tool's input schema (``SchemaNormaliser``): MCP servers send `null` members and meta keys
/// (`$schema`, `$id`) that the upstream answers with "Improperly formed request", and a schema without
/// `"type"` is refused too.
package struct NormaliseToolSchemas: RepairPass {
    package var name: String { "normalise-tool-schemas" }

    package init() {}

    package func apply(to draft: inout UpstreamDraft) {
        for index in draft.tools.indices {
            let schema = SchemaNormaliser.normalise(draft.tools[index].inputSchema)
            if schema != draft.tools[index].inputSchema {
                draft.repairs.append("normalised the input schema of tool \"\(draft.tools[index].name)\"")
                draft.tools[index].inputSchema = schema
            }
        }
    }
}
