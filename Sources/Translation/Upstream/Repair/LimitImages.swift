/// Keeps the newest images up to the upstream's limit and replaces older ones with a short text: the upstream
/// refuses a request with more than ten images (AMAZON_Q.md §2.13), which a long session with screenshots soon
/// has.
package struct LimitImages: RepairPass {
    package var name: String { "limit-images" }
    /// Images kept, counting from the end of the conversation.
    package var maximum: Int

    package init(maximum: Int = UpstreamRequestBuilder.maximumImages) {
        self.maximum = maximum
    }

    package func apply(to draft: inout UpstreamDraft) {
        var remaining = maximum
        var dropped = 0
        func keep() -> Bool {
            guard remaining > 0 else {
                dropped += 1
                return false
            }
            remaining -= 1
            return true
        }
        for index in draft.messages.indices.reversed() {
            draft.messages[index].content = draft.messages[index].content.reversed().map { block -> Conversation.ContentBlock in
                switch block {
                case .image:
                    return keep() ? block : .text("[image omitted: the upstream accepts at most \(maximum) images per request]")
                case .toolResult(var result):
                    result.content = result.content.reversed().map { part in
                        guard case .image = part else { return part }
                        return keep() ? part : .text("[image omitted]")
                    }.reversed()
                    return .toolResult(result)
                default:
                    return block
                }
            }.reversed()
        }
        if dropped > 0 { draft.repairs.append("omitted \(dropped) older image(s) over the upstream's limit of \(maximum)") }
    }
}
