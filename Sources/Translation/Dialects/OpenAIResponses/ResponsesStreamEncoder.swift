import ProxyModels

/// Encodes neutral reply events as the Responses API stream: `response.created` and `response.in_progress`,
/// then per output item `response.output_item.added`, its deltas and `.done` events and
/// `response.output_item.done`, and one of `response.completed`, `response.incomplete` (`max_output_tokens`) or
/// `response.failed`. Every event carries its `sequence_number`.
///
/// Keep-alives are `response.in_progress` events, not SSE comments: Codex times a stream out on parsed events
/// only, and the SDKs accept the lifecycle event again at any point.
package struct ResponsesStreamEncoder: ReplyStreamEncoder {
    let request: ResponsesRequest
    let header: ReplyHeader
    private var output: ResponsesOutput
    private var sequence = 0
    /// The delta events by kind and output index as templates (``write(_:into:)``), made on first use.
    private var deltaTemplates: [DeltaKey: FrameTemplate] = [:]

    private enum DeltaKind: Hashable {
        case outputText, reasoningSummaryText, functionCallArguments

        var type: String {
            switch self {
            case .outputText: "response.output_text.delta"
            case .reasoningSummaryText: "response.reasoning_summary_text.delta"
            case .functionCallArguments: "response.function_call_arguments.delta"
            }
        }
    }

    private struct DeltaKey: Hashable {
        var kind: DeltaKind
        var index: Int
    }

    init(request: ResponsesRequest, header: ReplyHeader) {
        self.request = request
        self.header = header
        self.output = ResponsesOutput(request: request, responseID: header.id)
    }

    package mutating func opening() -> [StreamFrame] {
        let snapshot = ResponsesObject.make(request, header: header, status: .inProgress, output: [])
        return [event("response.created", ["response": snapshot]), event("response.in_progress", ["response": snapshot])]
    }

    package mutating func keepAlive() -> StreamFrame {
        event("response.in_progress", ["response": ResponsesObject.make(request, header: header, status: .inProgress, output: [])])
    }

    package mutating func encode(_ event: ReplyEvent) -> [StreamFrame] {
        switch event {
        case .blockStart(let block, let kind):
            let index = output.open(block: block, kind)
            let item = output.items[index]
            var frames = [self.event("response.output_item.added", ["output_index": .int(index), "item": output.json(index)])]
            switch item.kind {
            case .message:
                frames.append(
                    self.event(
                        "response.content_part.added",
                        ["item_id": .string(item.id), "output_index": .int(index), "content_index": 0, "part": ResponsesOutput.textPart("")]))
            case .reasoning where request.reasoningSummary:
                frames.append(
                    self.event(
                        "response.reasoning_summary_part.added",
                        ["item_id": .string(item.id), "output_index": .int(index), "summary_index": 0, "part": ResponsesOutput.summaryPart("")]))
            default:
                break
            }
            return frames
        case .textDelta, .thinkingDelta, .toolInputDelta:
            guard let (kind, index, text) = takeDelta(event) else { return [] }
            return [self.event(kind.type, deltaFields(kind, index, .string(text)))]
        case .signatureDelta(let block, let signature):
            output.sign(block: block, signature)
            return []
        case .blockStop(let block):
            guard let index = output.close(block: block) else { return [] }
            return closing(index)
        case .finish(let finish):
            let status: ResponsesObject.Status = finish.stopReason == .maxTokens ? .incomplete : .completed
            let response = ResponsesObject.make(
                request, header: header, status: status, output: output.doneItems(),
                usage: ResponsesObject.usage(finish.usage, reasoningTokens: output.reasoningTokens))
            return [self.event(status == .completed ? "response.completed" : "response.incomplete", ["response": response])]
        case .failure(let failure):
            return self.failure(ProxyFailure(upstream: failure))
        }
    }

    /// The hot path: deltas through a template, the same bytes as ``encode(_:)``'s frames.
    package mutating func write(_ event: ReplyEvent, into bytes: inout [UInt8]) {
        switch event {
        case .textDelta, .thinkingDelta, .toolInputDelta:
            guard let (kind, index, text) = takeDelta(event) else { return }
            let key = DeltaKey(kind: kind, index: index)
            if deltaTemplates[key] == nil {
                let fields = deltaFields(kind, index, .string(FrameTemplate.stringMarker))
                deltaTemplates[key] = FrameTemplate(.event(kind.type, Self.eventObject(kind.type, sequence: FrameTemplate.numberMarker, fields)))
            }
            deltaTemplates[key]?.write(number: sequence, string: text, into: &bytes)
            sequence += 1
        default:
            for frame in encode(event) { frame.write(into: &bytes) }
        }
    }

    /// Takes a delta into the output; its event's kind, output index and text, or nil when it sends no event.
    private mutating func takeDelta(_ event: ReplyEvent) -> (DeltaKind, Int, String)? {
        switch event {
        case .textDelta(let block, let text):
            guard let index = output.outputIndex(ofBlock: block) else { return nil }
            output.append(text, toBlock: block)
            return (.outputText, index, text)
        case .thinkingDelta(let block, let text):
            guard let index = output.outputIndex(ofBlock: block) else { return nil }
            output.append(text, toBlock: block)
            guard request.reasoningSummary else { return nil }
            return (.reasoningSummaryText, index, text)
        case .toolInputDelta(let block, let json):
            guard let index = output.outputIndex(ofBlock: block) else { return nil }
            output.append(json, toBlock: block)
            guard case .functionCall = output.items[index].kind else { return nil }  // a custom tool's input is sent whole, at its end
            return (.functionCallArguments, index, json)
        default:
            return nil
        }
    }

    /// A delta event's fields after its type and sequence number.
    private func deltaFields(_ kind: DeltaKind, _ index: Int, _ delta: JSONValue) -> JSONValue {
        let id = JSONValue.string(output.items[index].id)
        return switch kind {
        case .outputText: ["item_id": id, "output_index": .int(index), "content_index": 0, "delta": delta, "logprobs": []]
        case .reasoningSummaryText: ["item_id": id, "output_index": .int(index), "summary_index": 0, "delta": delta]
        case .functionCallArguments: ["item_id": id, "output_index": .int(index), "delta": delta]
        }
    }

    package mutating func failure(_ failure: ProxyFailure) -> [StreamFrame] {
        let response = ResponsesObject.make(
            request, header: header, status: .failed, output: output.doneItems(), error: ResponsesObject.error(failure))
        return [event("response.failed", ["response": response])]
    }

    /// The `.done` events of an item, then `response.output_item.done` with the whole item.
    private mutating func closing(_ index: Int) -> [StreamFrame] {
        let item = output.items[index]
        let id = JSONValue.string(item.id)
        var frames: [StreamFrame] = []
        switch item.kind {
        case .message:
            frames.append(
                event(
                    "response.output_text.done",
                    ["item_id": id, "output_index": .int(index), "content_index": 0, "text": .string(item.text), "logprobs": []]))
            frames.append(
                event(
                    "response.content_part.done",
                    ["item_id": id, "output_index": .int(index), "content_index": 0, "part": ResponsesOutput.textPart(item.text)]))
        case .reasoning:
            let text = output.reasoningText(item)
            if request.reasoningSummary {
                frames.append(
                    event(
                        "response.reasoning_summary_text.done",
                        ["item_id": id, "output_index": .int(index), "summary_index": 0, "text": .string(text)]))
                frames.append(
                    event(
                        "response.reasoning_summary_part.done",
                        ["item_id": id, "output_index": .int(index), "summary_index": 0, "part": ResponsesOutput.summaryPart(text)]))
            }
        case .functionCall(_, let name, _):
            frames.append(
                event(
                    "response.function_call_arguments.done",
                    ["item_id": id, "output_index": .int(index), "name": .string(name), "arguments": .string(output.arguments(item))]))
        case .customToolCall:
            let input = JSONValue.string(output.customInput(item))
            frames.append(event("response.custom_tool_call_input.delta", ["item_id": id, "output_index": .int(index), "delta": input]))
            frames.append(event("response.custom_tool_call_input.done", ["item_id": id, "output_index": .int(index), "input": input]))
        }
        frames.append(event("response.output_item.done", ["output_index": .int(index), "item": output.json(index)]))
        return frames
    }

    /// An event with its type and sequence number first, as OpenAI sends them.
    private mutating func event(_ type: String, _ fields: JSONValue) -> StreamFrame {
        defer { sequence += 1 }
        return .event(type, Self.eventObject(type, sequence: .int(sequence), fields))
    }

    private static func eventObject(_ type: String, sequence: JSONValue, _ fields: JSONValue) -> JSONValue {
        .object([JSONMember("type", .string(type)), JSONMember("sequence_number", sequence)] + (fields.objectValue ?? []))
    }
}
