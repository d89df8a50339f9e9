/// Makes every user turn carry exactly one result per tool use of the assistant turn before it, in the order of
/// those uses: the upstream refuses a tool use without its result, a result without its use, and two results for
/// one use.
///
/// A use with no result gets a neutral error result (never a text saying the tool was cancelled: that makes the
/// model call it again forever); a result with no matching use becomes text; duplicate results for one use are
/// merged; a tool use id repeated from earlier history (a client resend) is dropped. Relies on
/// ``MergeConsecutiveTurns``: the results of one assistant turn are all in the one user turn after it.
package struct PairToolResults: RepairPass {
    package var name: String { "pair-tool-results" }

    package init() {}

    package func apply(to draft: inout UpstreamDraft) {
        var seenUseIDs = Set<String>()
        var notes: [String] = []
        for index in draft.messages.indices {
            switch draft.messages[index].role {
            case .assistant:
                draft.messages[index].content = draft.messages[index].content.filter { block in
                    guard case .toolUse(let use) = block else { return true }
                    if seenUseIDs.insert(use.id).inserted { return true }
                    notes.append("dropped repeated tool use \(use.id)")
                    return false
                }
            case .user, .system:
                var expected: [Conversation.ToolUse] = []
                if index > 0 {
                    for case .toolUse(let use) in draft.messages[index - 1].content { expected.append(use) }
                }
                draft.messages[index].content = paired(draft.messages[index].content, expected: expected, notes: &notes)
            }
        }
        draft.repairs += notes
    }

    /// The blocks of a user turn with its tool results first, one per expected use and in their order.
    private func paired(
        _ content: [Conversation.ContentBlock], expected: [Conversation.ToolUse], notes: inout [String]
    ) -> [Conversation.ContentBlock] {
        let expectedIDs = Set(expected.map(\.id))
        var results: [String: Conversation.ToolResult] = [:]
        var others: [Conversation.ContentBlock] = []
        for block in content {
            guard case .toolResult(let result) = block else {
                others.append(block)
                continue
            }
            if expectedIDs.contains(result.toolUseID) {
                if var existing = results[result.toolUseID] {
                    existing.content += result.content
                    existing.isError = existing.isError || result.isError
                    results[result.toolUseID] = existing
                    notes.append("merged duplicate results for tool use \(result.toolUseID)")
                } else {
                    results[result.toolUseID] = result
                }
            } else {
                others.append(.text("Tool result for \(result.toolUseID):\n" + UpstreamRequestBuilder.resultText(result)))
                notes.append("turned the result for unknown tool use \(result.toolUseID) into text")
            }
        }
        var ordered: [Conversation.ContentBlock] = []
        for use in expected {
            if let result = results[use.id] {
                ordered.append(.toolResult(result))
            } else {
                ordered.append(.toolResult(.init(toolUseID: use.id, content: [.text(UpstreamRequestBuilder.missingResult)], isError: true)))
                notes.append("added a result for tool use \(use.id), which had none")
            }
        }
        return ordered + others
    }
}
