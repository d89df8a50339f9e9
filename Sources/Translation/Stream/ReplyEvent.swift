import ProxyModels

/// One step of a reply in neutral form, between the upstream's events and a dialect's encoder.
///
/// Blocks are numbered from 0 in order, as Claude numbers content blocks; the OpenAI encoder
/// maps them to its own shapes.
package enum ReplyEvent: Sendable, Equatable {
    case blockStart(index: Int, block: ReplyBlock)
    case textDelta(index: Int, text: String)
    case thinkingDelta(index: Int, text: String)
    case signatureDelta(index: Int, signature: String)
    /// A raw fragment of a tool's JSON input; the fragments of one block concatenate to valid JSON.
    case toolInputDelta(index: Int, json: String)
    case blockStop(index: Int)
    case finish(ReplyFinish)
    /// The upstream failed after the reply started; the encoder ends the stream with an error.
    case failure(QUpstreamFailure)
}

package enum ReplyBlock: Sendable, Equatable {
    case text
    case thinking
    case toolUse(id: String, name: String)
}

package enum StopReason: String, Sendable, Equatable {
    case endTurn = "end_turn"
    case toolUse = "tool_use"
    case maxTokens = "max_tokens"
    case stopSequence = "stop_sequence"
}

package struct ReplyUsage: Sendable, Equatable {
    package var inputTokens: Int
    package var outputTokens: Int
    package var cacheReadInputTokens: Int
    package var cacheCreationInputTokens: Int

    package init(inputTokens: Int, outputTokens: Int, cacheReadInputTokens: Int = 0, cacheCreationInputTokens: Int = 0) {
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.cacheReadInputTokens = cacheReadInputTokens
        self.cacheCreationInputTokens = cacheCreationInputTokens
    }
}

package struct ReplyFinish: Sendable, Equatable {
    package var stopReason: StopReason
    package var stopSequence: String?
    package var usage: ReplyUsage

    package init(stopReason: StopReason, stopSequence: String? = nil, usage: ReplyUsage) {
        self.stopReason = stopReason
        self.stopSequence = stopSequence
        self.usage = usage
    }
}
