/// Applies Claude's mid-conversation tool changes (`tool_addition`, `tool_removal`) to the tools to declare: the
/// upstream has one tool list per request and no notion of a tool that comes or goes.
///
/// The last change of a tool decides: an added tool is declared (with its inline definition when it brought one),
/// a removed one is not, and ``DeclareToolsUsedInHistory`` declares it as gone if history used it. The change
/// itself stays in its turn, where the model reads it as a note.
package struct ApplyToolChanges: RepairPass {
    package var name: String { "apply-tool-changes" }

    package init() {}

    package func apply(to draft: inout UpstreamDraft) {
        var changes: [String: Conversation.ToolChange] = [:]
        var definitions: [String: Conversation.Tool] = [:]
        for message in draft.messages {
            for case .toolChange(let change) in message.content {
                changes[change.name] = change
                if let definition = change.definition { definitions[change.name] = definition }
            }
        }
        guard !changes.isEmpty else { return }
        for change in changes.values.sorted(by: { $0.name < $1.name }) where change.added {
            if let definition = definitions[change.name], !draft.tools.contains(where: { $0.name == change.name }) {
                draft.tools.append(definition)
            }
        }
        let removed = Set(changes.values.filter { !$0.added }.map(\.name))
        draft.removedTools = removed
        draft.tools.removeAll { removed.contains($0.name) }
        draft.repairs.append("applied \(changes.count) mid-conversation tool change(s)")
    }
}
