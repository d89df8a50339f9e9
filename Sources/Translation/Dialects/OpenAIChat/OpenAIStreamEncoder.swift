import ProxyModels

/// Encodes neutral reply events as OpenAI `chat.completion.chunk` objects.
///
/// The first chunk carries `role: assistant`; text goes out as `content` deltas and reasoning as
/// `reasoning_content` deltas (the common extension; never mixed into `content`). Each tool call
/// gets a stable `index` counted over tool calls only, its `id`, `type` and `function.name` in its
/// first delta and its `arguments` in fragments. `finish` becomes the chunk with `finish_reason`,
/// followed, when the client asked for `include_usage`, by a `choices: []` chunk with `usage`; the
/// caller then writes `data: [DONE]`. A mid-stream failure becomes a chunk with an `error`
/// member, which the OpenAI SDKs raise as an `APIError`, and the stream ends there without `[DONE]`.
package struct OpenAIStreamEncoder: Sendable {
    package let completionID: String
    package let model: String
    /// Unix seconds (passed in: this module touches no clock).
    package let created: Int
    package let includeUsage: Bool

    /// Reply block index → tool call index.
    private var toolIndices: [Int: Int] = [:]
    /// Tool blocks that have had at least one `arguments` fragment.
    private var toolsWithArguments: Set<Int> = []
    /// Text blocks that have had text; a later text block is separated from earlier text by a blank line.
    private var textBlocksWithText: Set<Int> = []
    /// The delta chunks as templates (``writeDelta(_:into:)``), made on first use.
    private var contentTemplate: FrameTemplate?
    private var reasoningTemplate: FrameTemplate?
    private var argumentsTemplates: [Int: FrameTemplate] = [:]

    package init(completionID: String, model: String, created: Int, includeUsage: Bool) {
        self.completionID = completionID
        self.model = model
        self.created = created
        self.includeUsage = includeUsage
    }

    /// The text put between two text blocks of one reply, in both the stream and the assembled message.
    package static let textBlockSeparator = "\n\n"

    /// The opening chunk, sent before any event.
    package func roleChunk() -> JSONValue {
        chunk(["role": "assistant", "content": ""])
    }

    package mutating func encode(_ event: ReplyEvent) -> [JSONValue] {
        switch event {
        case .blockStart(let index, .toolUse(let id, let name)):
            let toolIndex = toolIndices.count
            toolIndices[index] = toolIndex
            return [
                chunk([
                    "tool_calls": [
                        ["index": .int(toolIndex), "id": .string(id), "type": "function", "function": ["name": .string(name), "arguments": ""]]
                    ]
                ])
            ]
        case .blockStart, .signatureDelta:
            return []
        case .textDelta(let index, let text):
            return [chunk(["content": .string(content(index, text))])]
        case .thinkingDelta(_, let text):
            return [chunk(["reasoning_content": .string(text)])]
        case .toolInputDelta(let index, let json):
            guard let toolIndex = toolIndices[index] else { return [] }
            toolsWithArguments.insert(index)
            return [argumentsChunk(toolIndex, json)]
        case .blockStop(let index):
            // A call without input still needs arguments a client can parse.
            guard let toolIndex = toolIndices[index], !toolsWithArguments.contains(index) else { return [] }
            return [argumentsChunk(toolIndex, "{}")]
        case .finish(let finish):
            var chunks = [chunk([:], finishReason: .string(Self.finishReason(finish.stopReason)))]
            if includeUsage {
                chunks.append(header(choices: [], extra: JSONMember("usage", Self.usage(finish.usage))))
            }
            return chunks
        case .failure(let failure):
            return [OpenAIFailureShape().body(of: ProxyFailure(upstream: failure), requestID: nil)]
        }
    }

    /// The hot path: a text, reasoning or arguments delta written as the bytes of its chunk's `data:` line through a
    /// template, with the same state changes as ``encode(_:)``; `false` (nothing written) for any other event.
    package mutating func writeDelta(_ event: ReplyEvent, into bytes: inout [UInt8]) -> Bool {
        let marker = JSONValue.string(FrameTemplate.stringMarker)
        switch event {
        case .textDelta(let index, let text):
            let content = content(index, text)
            if contentTemplate == nil { contentTemplate = FrameTemplate(.event(nil, chunk(["content": marker]))) }
            contentTemplate?.write(string: content, into: &bytes)
        case .thinkingDelta(_, let text):
            if reasoningTemplate == nil { reasoningTemplate = FrameTemplate(.event(nil, chunk(["reasoning_content": marker]))) }
            reasoningTemplate?.write(string: text, into: &bytes)
        case .toolInputDelta(let index, let json):
            guard let toolIndex = toolIndices[index] else { return true }
            toolsWithArguments.insert(index)
            if argumentsTemplates[toolIndex] == nil {
                argumentsTemplates[toolIndex] = FrameTemplate(.event(nil, argumentsChunk(toolIndex, FrameTemplate.stringMarker)))
            }
            argumentsTemplates[toolIndex]?.write(string: json, into: &bytes)
        default:
            return false
        }
        return true
    }

    /// A text delta's `content`: a later text block's first text starts with the separator.
    private mutating func content(_ index: Int, _ text: String) -> String {
        guard !textBlocksWithText.contains(index) else { return text }
        let first = textBlocksWithText.isEmpty
        textBlocksWithText.insert(index)
        return first ? text : Self.textBlockSeparator + text
    }

    private func argumentsChunk(_ toolIndex: Int, _ arguments: String) -> JSONValue {
        chunk(["tool_calls": [["index": .int(toolIndex), "function": ["arguments": .string(arguments)]]]])
    }

    private func chunk(_ delta: JSONValue, finishReason: JSONValue = nil) -> JSONValue {
        header(choices: [["index": 0, "delta": delta, "logprobs": nil, "finish_reason": finishReason]])
    }

    private func header(choices: [JSONValue], extra: JSONMember? = nil) -> JSONValue {
        var members = [
            JSONMember("id", .string(completionID)), JSONMember("object", "chat.completion.chunk"), JSONMember("created", .int(created)),
            JSONMember("model", .string(model)), JSONMember("choices", .array(choices)),
        ]
        if let extra { members.append(extra) }
        return .object(members)
    }

    package static func finishReason(_ reason: StopReason) -> String {
        switch reason {
        case .endTurn, .stopSequence: "stop"
        case .toolUse: "tool_calls"
        case .maxTokens: "length"
        }
    }

    /// OpenAI counts cached prompt tokens inside `prompt_tokens` and details them separately.
    package static func usage(_ usage: ReplyUsage) -> JSONValue {
        let prompt = usage.inputTokens + usage.cacheReadInputTokens + usage.cacheCreationInputTokens
        return [
            "prompt_tokens": .int(prompt), "completion_tokens": .int(usage.outputTokens), "total_tokens": .int(prompt + usage.outputTokens),
            "prompt_tokens_details": ["cached_tokens": .int(usage.cacheReadInputTokens)],
        ]
    }
}

/// Builds the non-streaming `chat.completion` object from the same neutral events as the stream.
package enum OpenAICompletionAssembler {
    package static func completion(_ reply: ReplyAccumulator, id: String, model: String, created: Int, inputTokens: Int) -> JSONValue {
        var texts: [String] = []
        var reasoning = ""
        var toolCalls: [JSONValue] = []
        for block in reply.blocks {
            switch block {
            case .text(let text): if !text.isEmpty { texts.append(text) }
            case .thinking(let text, _): reasoning += text
            case .toolUse(let id, let name, let json):
                toolCalls.append([
                    "id": .string(id), "type": "function", "function": ["name": .string(name), "arguments": .string(json.isEmpty ? "{}" : json)],
                ])
            }
        }
        var message: [JSONMember] = [JSONMember("role", "assistant")]
        // `content` is null for a reply that only calls tools, as OpenAI sends it.
        message.append(
            JSONMember(
                "content", texts.isEmpty && !toolCalls.isEmpty ? .null : .string(texts.joined(separator: OpenAIStreamEncoder.textBlockSeparator))))
        if !reasoning.isEmpty { message.append(JSONMember("reasoning_content", .string(reasoning))) }
        if !toolCalls.isEmpty { message.append(JSONMember("tool_calls", .array(toolCalls))) }
        message.append(JSONMember("refusal", .null))

        let finish = reply.finish
        let usage = finish?.usage ?? ReplyUsage(inputTokens: inputTokens, outputTokens: 0)
        let finishReason: String = finish.map { OpenAIStreamEncoder.finishReason($0.stopReason) } ?? "stop"
        return [
            "id": .string(id), "object": "chat.completion", "created": .int(created), "model": .string(model),
            "choices": [["index": 0, "message": .object(message), "logprobs": nil, "finish_reason": .string(finishReason)]],
            "usage": OpenAIStreamEncoder.usage(usage),
        ]
    }
}
