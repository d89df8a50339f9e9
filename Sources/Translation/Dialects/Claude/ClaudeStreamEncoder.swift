import ProxyModels

/// One server-sent event of the Claude Messages stream.
package struct ClaudeStreamEvent: Sendable, Equatable {
    package var name: String
    package var data: JSONValue

    package init(_ name: String, _ data: JSONValue) {
        self.name = name
        self.data = data
    }
}

/// Encodes neutral reply events as the exact Claude SSE sequence: `message_start`, per block
/// `content_block_start` → deltas → `content_block_stop`, one `message_delta`, `message_stop`;
/// or an `error` event when the upstream fails mid-stream.
package struct ClaudeStreamEncoder: Sendable {
    package let messageID: String
    package let model: String
    package let inputTokens: Int
    /// The `applied_edits` of Claude context management, reported in `message_delta` (none: left out).
    package let appliedEdits: [JSONValue]

    package init(messageID: String, model: String, inputTokens: Int, appliedEdits: [JSONValue] = []) {
        self.messageID = messageID
        self.model = model
        self.inputTokens = inputTokens
        self.appliedEdits = appliedEdits
    }

    /// The `context_management` member of a reply, or `nil` when no edit was applied.
    package static func contextManagement(_ appliedEdits: [JSONValue]) -> JSONValue? {
        appliedEdits.isEmpty ? nil : ["applied_edits": .array(appliedEdits)]
    }

    package func messageStart() -> ClaudeStreamEvent {
        ClaudeStreamEvent(
            "message_start",
            [
                "type": "message_start",
                "message": [
                    "id": .string(messageID), "type": "message", "role": "assistant", "content": [], "model": .string(model),
                    "stop_reason": nil, "stop_sequence": nil,
                    "usage": [
                        "input_tokens": .int(inputTokens), "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
                        "output_tokens": 1,
                    ],
                ],
            ])
    }

    package static let ping = ClaudeStreamEvent("ping", ["type": "ping"])

    package func encode(_ event: ReplyEvent) -> [ClaudeStreamEvent] {
        switch event {
        case .blockStart(let index, let block):
            let contentBlock: JSONValue =
                switch block {
                case .text: ["type": "text", "text": ""]
                case .thinking: ["type": "thinking", "thinking": "", "signature": ""]
                case .toolUse(let id, let name): ["type": "tool_use", "id": .string(id), "name": .string(name), "input": [:]]
                }
            return [.init("content_block_start", ["type": "content_block_start", "index": .int(index), "content_block": contentBlock])]
        case .textDelta(let index, let text):
            return [delta(index, ["type": "text_delta", "text": .string(text)])]
        case .thinkingDelta(let index, let text):
            return [delta(index, ["type": "thinking_delta", "thinking": .string(text)])]
        case .signatureDelta(let index, let signature):
            return [delta(index, ["type": "signature_delta", "signature": .string(signature)])]
        case .toolInputDelta(let index, let json):
            return [delta(index, ["type": "input_json_delta", "partial_json": .string(json)])]
        case .blockStop(let index):
            return [.init("content_block_stop", ["type": "content_block_stop", "index": .int(index)])]
        case .finish(let finish):
            return [
                .init(
                    "message_delta",
                    .object([
                        "type": "message_delta",
                        "delta": [
                            "stop_reason": .string(finish.stopReason.rawValue), "stop_sequence": finish.stopSequence.map(JSONValue.string) ?? .null,
                        ],
                        "usage": [
                            "input_tokens": .int(finish.usage.inputTokens), "output_tokens": .int(finish.usage.outputTokens),
                            "cache_creation_input_tokens": .int(finish.usage.cacheCreationInputTokens),
                            "cache_read_input_tokens": .int(finish.usage.cacheReadInputTokens),
                        ],
                        "context_management": Self.contextManagement(appliedEdits),
                    ])),
                .init("message_stop", ["type": "message_stop"]),
            ]
        case .failure(let failure):
            return [Self.error(ProxyFailure(upstream: failure))]
        }
    }

    /// The `error` event that ends a stream which failed after it started.
    package static func error(_ failure: ProxyFailure) -> ClaudeStreamEvent {
        .init("error", ClaudeFailureShape().body(of: failure, requestID: nil))
    }

    private func delta(_ index: Int, _ delta: JSONValue) -> ClaudeStreamEvent {
        .init("content_block_delta", ["type": "content_block_delta", "index": .int(index), "delta": delta])
    }
}

/// Builds the non-streaming Claude `message` object from the same neutral events, so both
/// modes always agree.
package struct ClaudeMessageAssembler: Sendable {
    private var reply: ReplyAccumulator

    package init(_ reply: ReplyAccumulator = ReplyAccumulator()) {
        self.reply = reply
    }

    package var failure: QUpstreamFailure? { reply.failure }

    package mutating func add(_ event: ReplyEvent) {
        reply.add(event)
    }

    package func message(id: String, model: String, inputTokens: Int, appliedEdits: [JSONValue] = []) -> JSONValue {
        var content: [JSONValue] = []
        for block in reply.blocks {
            switch block {
            case .text(let text): content.append(["type": "text", "text": .string(text)])
            case .thinking(let text, let signature):
                content.append(["type": "thinking", "thinking": .string(text), "signature": .string(signature)])
            case .toolUse(let id, let name, let json):
                let input = json.isEmpty ? JSONValue.object([]) : ((try? JSONParser.parse(json)) ?? .object([]))
                content.append(["type": "tool_use", "id": .string(id), "name": .string(name), "input": input])
            }
        }
        let finish = reply.finish
        let usage = finish?.usage ?? ReplyUsage(inputTokens: inputTokens, outputTokens: 0)
        return .object([
            "id": .string(id), "type": "message", "role": "assistant", "model": .string(model), "content": .array(content),
            "stop_reason": finish.map { .string($0.stopReason.rawValue) } ?? .null,
            "stop_sequence": finish?.stopSequence.map(JSONValue.string) ?? .null,
            "usage": [
                "input_tokens": .int(usage.inputTokens), "output_tokens": .int(usage.outputTokens),
                "cache_creation_input_tokens": .int(usage.cacheCreationInputTokens),
                "cache_read_input_tokens": .int(usage.cacheReadInputTokens),
            ],
            "context_management": ClaudeStreamEncoder.contextManagement(appliedEdits),
        ])
    }
}
