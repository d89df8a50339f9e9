import ProxyModels

/// The state machine from Amazon Q events to neutral `ReplyEvent`s.
///
/// It owns everything both dialects need and the upstream does not do: splitting
/// `<thinking>` text into thinking blocks (tags cut across frames included, and only when the
/// client asked for thinking), enforcing `stop_sequences` and `max_tokens`, holding a tool
/// call until its input is complete so that a cut-off call is never sent, and the stop reason.
///
/// Pure value type: feed events with `handle(_:)`, end with `finish()`; both return the events
/// to send. `isFinished` turns true once no more input is wanted (stop sequence, budget, error).
package struct ReplyTranslator: Sendable {
    package struct Configuration: Sendable {
        package var thinkingRequested: Bool
        package var stopSequences: [String]
        package var maxTokens: Int?
        package var inputTokens: Int
        package var toolNames: ToolNameMap
        /// Claude `thinking.display: omitted`: thinking blocks are sent empty, with their signature.
        package var thinkingOmitted: Bool

        package init(
            thinkingRequested: Bool = false, stopSequences: [String] = [], maxTokens: Int? = nil, inputTokens: Int = 0,
            toolNames: ToolNameMap = .init(),
            thinkingOmitted: Bool = false
        ) {
            self.thinkingOmitted = thinkingOmitted
            self.thinkingRequested = thinkingRequested
            self.stopSequences = stopSequences
            self.maxTokens = maxTokens
            self.inputTokens = inputTokens
            self.toolNames = toolNames
        }
    }

    static let openTag = "<thinking>"
    static let closeTag = "</thinking>"

    private let configuration: Configuration
    private var nextIndex = 0
    private var openBlock: (index: Int, kind: ReplyBlock)?
    /// Text received but not yet sent: it may be the start of a tag or a stop sequence.
    private var pending = ""
    private var inThinking = false
    private var thinkingText = ""
    private var justClosedThinking = false
    private var tool: PendingTool?
    private var finishedToolIDs = Set<String>()
    private var emittedTool = false
    private var outputTokens = 0
    private var upstreamUsage: QTokenUsage?
    package private(set) var isFinished = false

    struct PendingTool: Sendable {
        var id: String
        var name: String
        var fragments: [String]
    }

    package init(_ configuration: Configuration) {
        self.configuration = configuration
    }

    // MARK: - Input

    package mutating func handle(_ event: QEvent) -> [ReplyEvent] {
        guard !isFinished else { return [] }
        var out: [ReplyEvent] = []
        switch event {
        case .text(let text):
            if tool != nil { closeTool(into: &out, complete: true) }
            if isFinished { return out }
            if case .thinking? = openBlock?.kind, !inThinking { closeBlock(into: &out) }
            feed(text, into: &out)
        case .toolUse(let id, let name, let input, let stop):
            if finishedToolIDs.contains(id) { return [] }
            if let open = tool, open.id != id { closeTool(into: &out, complete: true) }
            if isFinished { return out }
            if tool == nil {
                flushPending(into: &out)
                closeBlock(into: &out)
                tool = PendingTool(id: id, name: name, fragments: [])
            }
            if let input, !input.isEmpty { tool?.fragments.append(input) }
            if stop { closeTool(into: &out, complete: true) }
        case .reasoning(let text, _):
            if tool != nil { closeTool(into: &out, complete: true) }
            if isFinished { return out }
            guard let text, !text.isEmpty else { return out }
            if case .thinking? = openBlock?.kind {
            } else {
                flushPending(into: &out)
                closeBlock(into: &out)
                openNewBlock(.thinking, into: &out)
            }
            thinkingText += text
            outputTokens += TokenEstimator.tokens(in: text)
            if !configuration.thinkingOmitted { out.append(.thinkingDelta(index: openBlock!.index, text: text)) }
        case .usage(let usage):
            upstreamUsage = usage
        case .failure(let failure):
            flushPending(into: &out)
            closeBlock(into: &out)
            tool = nil
            out.append(.failure(failure))
            isFinished = true
        case .initialResponse, .codeReference, .ignored:
            break
        }
        return out
    }

    /// The upstream body ended: flush, close, and report the stop reason.
    package mutating func finish() -> [ReplyEvent] {
        guard !isFinished else { return [] }
        var out: [ReplyEvent] = []
        if tool != nil {
            // The stream ended inside a tool call: its input may be cut off.
            closeTool(into: &out, complete: false)
            if isFinished { return out }
        }
        flushPending(into: &out, final: true)
        closeBlock(into: &out)
        finish(emittedTool ? .toolUse : .endTurn, into: &out)
        return out
    }

    // MARK: - Text, thinking tags and stop sequences

    private mutating func feed(_ text: String, into out: inout [ReplyEvent]) {
        pending += text
        processPending(into: &out, final: false)
    }

    private mutating func flushPending(into out: inout [ReplyEvent], final: Bool = true) {
        processPending(into: &out, final: true)
    }

    private mutating func processPending(into out: inout [ReplyEvent], final: Bool) {
        while !pending.isEmpty && !isFinished {
            if inThinking {
                if let range = pending.firstRange(of: Self.closeTag) {
                    emitThinking(String(pending[..<range.lowerBound]), into: &out)
                    pending = String(pending[range.upperBound...])
                    inThinking = false
                    justClosedThinking = true
                    closeBlock(into: &out)
                    continue
                }
                let keep = final ? 0 : Self.heldSuffixLength(pending, candidates: [Self.closeTag])
                emitThinking(String(pending.dropLast(keep)), into: &out)
                pending = String(pending.suffix(keep))
                return
            }
            if justClosedThinking {
                // The model separates its reasoning from the answer with blank lines; drop them.
                let trimmed = pending.drop(while: { $0 == "\n" || $0 == "\r" })
                if trimmed.isEmpty && !final { pending = ""; return }
                pending = String(trimmed)
                justClosedThinking = false
                if pending.isEmpty { return }
            }
            var candidates = configuration.stopSequences
            if configuration.thinkingRequested { candidates.append(Self.openTag) }
            if let (range, match) = Self.earliest(of: candidates, in: pending) {
                emitText(String(pending[..<range.lowerBound]), into: &out)
                if isFinished { return }
                let rest = String(pending[range.upperBound...])
                if match == Self.openTag && configuration.thinkingRequested && !configuration.stopSequences.contains(match) {
                    closeBlock(into: &out)
                    openNewBlock(.thinking, into: &out)
                    inThinking = true
                    pending = rest
                    continue
                }
                pending = ""
                closeBlock(into: &out)
                finish(.stopSequence, stopSequence: match, into: &out)
                return
            }
            let keep = final ? 0 : Self.heldSuffixLength(pending, candidates: candidates)
            emitText(String(pending.dropLast(keep)), into: &out)
            pending = String(pending.suffix(keep))
            return
        }
    }

    private mutating func emitText(_ text: String, into out: inout [ReplyEvent]) {
        guard !text.isEmpty else { return }
        var text = text
        var budgetReached = false
        if let maxTokens = configuration.maxTokens {
            let tokens = TokenEstimator.tokens(in: text)
            if outputTokens + tokens > maxTokens {
                text = Self.prefix(of: text, fittingTokens: maxTokens - outputTokens)
                budgetReached = true
            }
        }
        if !text.isEmpty {
            if case .text? = openBlock?.kind {
            } else {
                closeBlock(into: &out)
                openNewBlock(.text, into: &out)
            }
            outputTokens += TokenEstimator.tokens(in: text)
            out.append(.textDelta(index: openBlock!.index, text: text))
        }
        if budgetReached {
            pending = ""
            closeBlock(into: &out)
            finish(.maxTokens, into: &out)
        }
    }

    private mutating func emitThinking(_ text: String, into out: inout [ReplyEvent]) {
        guard !text.isEmpty else { return }
        if case .thinking? = openBlock?.kind {
        } else {
            closeBlock(into: &out)
            openNewBlock(.thinking, into: &out)
        }
        thinkingText += text
        outputTokens += TokenEstimator.tokens(in: text)
        if !configuration.thinkingOmitted { out.append(.thinkingDelta(index: openBlock!.index, text: text)) }
    }

    // MARK: - Tools

    private mutating func closeTool(into out: inout [ReplyEvent], complete: Bool) {
        guard let pending = tool else { return }
        tool = nil
        finishedToolIDs.insert(pending.id)
        let json = pending.fragments.joined()
        let parsed = json.trimmingWhitespace().isEmpty ? JSONValue.object([]) : try? JSONParser.parse(json)
        guard complete, let parsed, case .object = parsed else {
            // Never hand the client a call with partial input: it would run it, or loop on it.
            let clientName = configuration.toolNames.clientName(for: pending.name)
            emitText(Self.cutOffNote(tool: clientName, receivedCharacters: json.count), into: &out)
            closeBlock(into: &out)
            if !isFinished { finish(.maxTokens, into: &out) }
            return
        }
        let index = nextIndex
        nextIndex += 1
        out.append(.blockStart(index: index, block: .toolUse(id: pending.id, name: configuration.toolNames.clientName(for: pending.name))))
        for fragment in pending.fragments { out.append(.toolInputDelta(index: index, json: fragment)) }
        out.append(.blockStop(index: index))
        outputTokens += TokenEstimator.tokens(in: json) + TokenEstimator.tokens(in: pending.name)
        emittedTool = true
    }

    /// The text that replaces a tool call the upstream cut off.
    package static func cutOffNote(tool: String, receivedCharacters: Int) -> String {
        "[q2api: the call to tool \"\(tool)\" was cut off by the upstream's output limit after \(receivedCharacters) characters of input, "
            + "so it was not run. Retry with smaller input: split large content into several smaller calls, for example write a file in parts.]"
    }

    // MARK: - Blocks

    private mutating func openNewBlock(_ kind: ReplyBlock, into out: inout [ReplyEvent]) {
        openBlock = (nextIndex, kind)
        out.append(.blockStart(index: nextIndex, block: kind))
        nextIndex += 1
        if case .thinking = kind { thinkingText = "" }
    }

    private mutating func closeBlock(into out: inout [ReplyEvent]) {
        guard let block = openBlock else { return }
        if case .thinking = block.kind {
            out.append(
                .signatureDelta(index: block.index, signature: ThinkingSignature.sign(thinkingText, carryingText: configuration.thinkingOmitted)))
        }
        out.append(.blockStop(index: block.index))
        openBlock = nil
    }

    private mutating func finish(_ reason: StopReason, stopSequence: String? = nil, into out: inout [ReplyEvent]) {
        isFinished = true
        var usage = ReplyUsage(inputTokens: configuration.inputTokens, outputTokens: max(outputTokens, 1))
        if let upstream = upstreamUsage {
            if let input = upstream.uncachedInputTokens { usage.inputTokens = input }
            if let output = upstream.outputTokens { usage.outputTokens = output }
            usage.cacheReadInputTokens = upstream.cacheReadInputTokens ?? 0
            usage.cacheCreationInputTokens = upstream.cacheWriteInputTokens ?? 0
        }
        out.append(.finish(ReplyFinish(stopReason: reason, stopSequence: stopSequence, usage: usage)))
    }

    // MARK: - Helpers

    /// The earliest occurrence of any candidate; on a tie, the longest.
    static func earliest(of candidates: [String], in text: String) -> (Range<String.Index>, String)? {
        var best: (Range<String.Index>, String)?
        for candidate in candidates where !candidate.isEmpty {
            guard let range = text.firstRange(of: candidate) else { continue }
            if let current = best {
                if range.lowerBound < current.0.lowerBound || (range.lowerBound == current.0.lowerBound && candidate.count > current.1.count) {
                    best = (range, candidate)
                }
            } else {
                best = (range, candidate)
            }
        }
        return best
    }

    /// How many trailing characters might begin one of the candidates, and so must wait for more text.
    static func heldSuffixLength(_ text: String, candidates: [String]) -> Int {
        var longest = 0
        for candidate in candidates where candidate.count > 1 {
            let maximum = min(candidate.count - 1, text.count)
            guard maximum > longest else { continue }
            for length in stride(from: maximum, to: longest, by: -1) where candidate.hasPrefix(text.suffix(length)) {
                longest = length
                break
            }
        }
        return longest
    }

    /// The longest prefix of `text` whose estimate fits in `tokens`.
    static func prefix(of text: String, fittingTokens tokens: Int) -> String {
        guard tokens > 0 else { return "" }
        var low = 0
        var high = text.count
        while low < high {
            let middle = (low + high + 1) / 2
            if TokenEstimator.tokens(in: String(text.prefix(middle))) <= tokens { low = middle } else { high = middle - 1 }
        }
        return String(text.prefix(low))
    }
}

/// Signatures for the thinking blocks q2api produces.
///
/// Claude Code drops a thinking block without a signature. The upstream gives none we could
/// pass on, so q2api issues its own: stable for the same text, clearly not Anthropic's, and
/// accepted back when a client replays the block (replayed thinking is sent as tagged text).
package enum ThinkingSignature {
    package static let prefix = "q2api-thinking-v1:"
    /// Signatures of omitted thinking (`display: omitted`) carry the text itself, base64, before the hash: the
    /// client gets an empty block back and replays it, and q2api restores the reasoning from the signature, as
    /// the API restores omitted thinking on its side.
    package static let carryingPrefix = "q2api-thinking-v2:"

    package static func sign(_ text: String, carryingText: Bool) -> String {
        guard carryingText else { return sign(text) }
        return carryingPrefix + Base64.encode(Array(text.utf8)) + ":" + sign(text).dropFirst(prefix.count)
    }

    /// The thinking text a v2 signature carries, when its hash matches; `nil` for any other signature.
    package static func carriedText(_ signature: String) -> String? {
        guard signature.hasPrefix(carryingPrefix) else { return nil }
        let rest = signature.dropFirst(carryingPrefix.count)
        guard let colon = rest.lastIndex(of: ":"), let bytes = ImageSize.decodePrefix(String(rest[..<colon]), maxCharacters: .max) else { return nil }
        let text = String(decoding: bytes, as: UTF8.self)
        return sign(text).dropFirst(prefix.count) == rest[rest.index(after: colon)...] ? text : nil
    }

    package static func sign(_ text: String) -> String {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        let hex = String(hash, radix: 16)
        return prefix + String(repeating: "0", count: 16 - hex.count) + hex
    }
}
