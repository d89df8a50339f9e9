import ProxyModels

/// Collects a whole reply from neutral events, for the non-streaming form of either dialect:
/// the blocks in order with their text or tool input, the finish and any failure. Built from
/// the same events as the stream, so both modes always agree.
package struct ReplyAccumulator: Sendable {
    package enum Block: Sendable, Equatable {
        case text(String)
        case thinking(String, signature: String)
        /// `json` is the tool input as the upstream sent it (complete and valid: the translator holds cut-off calls back).
        case toolUse(id: String, name: String, json: String)
    }

    private var blocksByIndex: [Int: Block] = [:]
    private var order: [Int] = []
    package private(set) var finish: ReplyFinish?
    package private(set) var failure: QUpstreamFailure?
    /// The reply was ended by the server after it started (the pump failed, or a shutdown's drain time ran out).
    package private(set) var interruption: ProxyFailure?

    package init() {}

    /// The blocks in the order they were opened.
    package var blocks: [Block] { order.compactMap { blocksByIndex[$0] } }

    package mutating func fail(_ failure: ProxyFailure) {
        interruption = failure
    }

    package mutating func add(_ event: ReplyEvent) {
        switch event {
        case .blockStart(let index, let block):
            order.append(index)
            switch block {
            case .text: blocksByIndex[index] = .text("")
            case .thinking: blocksByIndex[index] = .thinking("", signature: "")
            case .toolUse(let id, let name): blocksByIndex[index] = .toolUse(id: id, name: name, json: "")
            }
        case .textDelta(let index, let text):
            if case .text(let existing)? = blocksByIndex[index] { blocksByIndex[index] = .text(existing + text) }
        case .thinkingDelta(let index, let text):
            if case .thinking(let existing, let signature)? = blocksByIndex[index] {
                blocksByIndex[index] = .thinking(existing + text, signature: signature)
            }
        case .signatureDelta(let index, let signature):
            if case .thinking(let existing, _)? = blocksByIndex[index] { blocksByIndex[index] = .thinking(existing, signature: signature) }
        case .toolInputDelta(let index, let json):
            if case .toolUse(let id, let name, let existing)? = blocksByIndex[index] {
                blocksByIndex[index] = .toolUse(id: id, name: name, json: existing + json)
            }
        case .blockStop:
            break
        case .finish(let finish):
            self.finish = finish
        case .failure(let failure):
            self.failure = failure
        }
    }
}
