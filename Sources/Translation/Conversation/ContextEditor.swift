import ProxyModels

/// Applies Claude's `context_management.edits` to a conversation before it goes upstream.
///
/// The Claude API clears old thinking and old tool results on its side and reports what it cleared;
/// Amazon Q does neither, so q2api does it here, with the same defaults, and reports the same
/// `applied_edits` (an edit that cleared nothing is not reported).
package enum ContextEditor {
    package static let clearedToolResult = "[This tool result was cleared to save context.]"

    /// Applies every edit in order; returns the `applied_edits` entries.
    package static func apply(_ conversation: inout Conversation) -> [JSONValue] {
        var applied: [JSONValue] = []
        for edit in conversation.contextEdits {
            switch edit {
            case .clearThinking(let type, let keepTurns):
                guard let keepTurns else { continue }
                let (turns, tokens) = clearThinking(&conversation.messages, keepTurns: keepTurns)
                if turns > 0 {
                    applied.append(["type": .string(type), "cleared_thinking_turns": .int(turns), "cleared_input_tokens": .int(tokens)])
                }
            case .clearToolUses(let rule):
                let (uses, tokens) = clearToolUses(&conversation, rule)
                if uses > 0 {
                    applied.append(["type": .string(rule.type), "cleared_tool_uses": .int(uses), "cleared_input_tokens": .int(tokens)])
                }
            }
        }
        return applied
    }

    static func clearThinking(_ messages: inout [Conversation.Message], keepTurns: Int) -> (turns: Int, tokens: Int) {
        let assistantTurns = messages.indices.filter { messages[$0].role == .assistant }
        var turns = 0
        var tokens = 0
        for index in assistantTurns.dropLast(keepTurns) {
            var cleared = false
            messages[index].content.removeAll { block in
                guard case .thinking(let text) = block else { return false }
                tokens += TokenEstimator.tokens(in: text)
                cleared = true
                return true
            }
            if cleared { turns += 1 }
        }
        return (turns, tokens)
    }

    static func clearToolUses(_ conversation: inout Conversation, _ rule: Conversation.ClearToolUses) -> (uses: Int, tokens: Int) {
        var uses: [(message: Int, id: String)] = []
        for (index, message) in conversation.messages.enumerated() where message.role == .assistant {
            for case .toolUse(let use) in message.content where !rule.excludeTools.contains(use.name) {
                uses.append((index, use.id))
            }
        }
        if let limit = rule.triggerTokens, TokenEstimator.inputTokens(of: conversation) <= limit { return (0, 0) }
        if let limit = rule.triggerToolUses, uses.count <= limit { return (0, 0) }
        let cleared = Set(uses.dropLast(rule.keep).map(\.id))
        guard !cleared.isEmpty else { return (0, 0) }

        var edited = conversation.messages
        var count = 0
        var tokens = 0
        for index in edited.indices {
            edited[index].content = edited[index].content.map { block in
                switch block {
                case .toolResult(var result) where cleared.contains(result.toolUseID):
                    let before = TokenEstimator.tokens(in: UpstreamRequestBuilder.resultText(result))
                    result.content = [.text(clearedToolResult)]
                    tokens += max(0, before - TokenEstimator.tokens(in: clearedToolResult))
                    count += 1
                    return .toolResult(result)
                case .toolUse(var use) where rule.clearInputs && cleared.contains(use.id) && (rule.clearInputsOf?.contains(use.name) ?? true):
                    tokens += TokenEstimator.tokens(in: use.input.jsonString)
                    use.input = .object([])
                    return .toolUse(use)
                default:
                    return block
                }
            }
        }
        guard count > 0, tokens >= rule.clearAtLeastTokens else { return (0, 0) }
        conversation.messages = edited
        return (count, tokens)
    }
}
