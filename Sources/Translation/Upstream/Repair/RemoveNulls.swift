import ProxyModels

/// Removes `null` members and elements from tool inputs and JSON tool results: the upstream refuses explicit nulls
/// anywhere in a request, and for a tool input a null member means the same as an absent one.
package struct RemoveNulls: RepairPass {
    package var name: String { "remove-nulls" }

    package init() {}

    package func apply(to draft: inout UpstreamDraft) {
        var cleanedInputs = false
        for index in draft.messages.indices {
            draft.messages[index].content = draft.messages[index].content.map { block in
                switch block {
                case .toolUse(var use):
                    let input = use.input.removingNulls()
                    if input != use.input {
                        cleanedInputs = true
                        use.input = input
                    }
                    return .toolUse(use)
                case .toolResult(var result):
                    result.content = result.content.map { part in
                        guard case .json(let json) = part else { return part }
                        return .json(json.removingNulls())
                    }
                    return .toolResult(result)
                default:
                    return block
                }
            }
        }
        if cleanedInputs { draft.repairs.append("removed null members from tool inputs in history") }
    }
}
