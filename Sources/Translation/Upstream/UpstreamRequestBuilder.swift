import ProxyModels

/// Turns a `Conversation` into an Amazon Q `GenerateAssistantResponse` body, repairing every request shape the
/// upstream rejects (AMAZON_Q.md §2.9, §9) so it never answers "Improperly formed request" for something the client
/// considers valid.
///
/// Building is two stages: the ``passes`` repair an ``UpstreamDraft`` of the conversation, one concern each and
/// in a fixed order, then ``UpstreamRequestRenderer`` renders the repaired draft through the request template.
///
/// ```swift
/// let plan = try UpstreamRequestBuilder.build(conversation, template: .builtIn, options: options)
/// let bytes = plan.body(profileARN: account.profileARN).jsonBytes
/// ```
package enum UpstreamRequestBuilder {
    /// Upstream limits (AMAZON_Q.md §2.13).
    package static let maximumImages = 10
    package static let maximumDescriptionLength = 10_240
    package static let truncatedDescriptionLength = 10_100
    package static let maximumContentCharacters = 600_000
    /// Text used where the upstream requires content and the client sent none. It is neutral on
    /// purpose: a text that says a tool was cancelled makes the model retry forever.
    package static let emptyPlaceholder = "(empty)"
    package static let emptySuccessResult = "Command executed successfully"
    package static let emptyErrorResult = "The tool reported an error without output."
    package static let missingResult = "No result was provided for this tool call."
    /// The deferred tool Claude Code declares to mark that deferred tools exist (CLIENTS.md).
    package static let deferredToolPlaceholder = "DeferredToolPlaceholder"

    /// The repair passes, in the order they run.
    ///
    /// The order matters where a pass relies on an earlier one:
    /// - context edits come first: they are the client's own, and input tokens are counted after them;
    /// - system-role messages become user turns before turns are merged, and a trailing prefill is dropped before
    ///   the last turn is taken as the user's;
    /// - turns are merged before tool results are paired (all results of a tool turn are then in one user turn),
    ///   and results are paired before the tool passes read which tools history uses or loads;
    /// - tools are named before descriptions are bounded (the documentation names them as the upstream does), and
    ///   history's tools are declared after the client's, so the client's keep their names;
    /// - the tool choice is written after naming, with the upstream's name of the tool.
    package static let passes: [any RepairPass] = [
        ApplyContextManagement(),
        FoldSystemMessages(),
        DropTrailingPrefill(),
        ReplayThinkingAsText(),
        MergeConsecutiveTurns(),
        StartWithUserTurn(),
        PairToolResults(),
        RemoveNulls(),
        LimitImages(),
        ApplyToolChanges(),
        LeaveOutDeferredTools(),
        NameToolsForUpstream(),
        BoundToolDescriptions(),
        NormaliseToolSchemas(),
        DeclareToolsUsedInHistory(),
        ToolChoiceAsInstruction(),
        FillEmptyAssistantTurns(),
    ]

    /// Repairs the conversation with every pass, then renders it.
    ///
    /// - Parameters:
    ///   - conversation: the client's request in neutral form.
    ///   - template: the request template (`upstream.template`, or the built-in one).
    ///   - options: the model id, the context limit, the time and the id source.
    /// - Returns: the plan: the body (per account), the repairs made, the tool names, the input token estimate.
    /// - Throws: `RequestError` for a conversation without a user turn, or a prompt over the context limit.
    package static func build(
        _ conversation: Conversation, template: RequestTemplate = .builtIn, options: UpstreamRequestOptions
    ) throws(RequestError) -> UpstreamRequestPlan {
        var draft = UpstreamDraft(conversation)
        for pass in passes { try pass.apply(to: &draft) }
        return try UpstreamRequestRenderer(template: template, options: options).render(draft)
    }

    /// The text of a tool result: its text and JSON parts, and a line per tool it loaded; images are left out.
    static func resultText(_ result: Conversation.ToolResult) -> String {
        result.content.compactMap { part -> String? in
            switch part {
            case .text(let text): text
            case .json(let json): json.jsonString
            case .image: nil
            case .toolReference(let name): "Tool loaded: \(name)"
            }
        }.joined(separator: "\n")
    }
}
