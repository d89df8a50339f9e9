import ProxyModels

/// The Claude Messages API: `POST /v1/messages` and `POST /v1/messages/count_tokens`.
package struct ClaudeDialect: Dialect {
    package struct Request: DialectRequest {
        package var conversation: Conversation

        package init(conversation: Conversation) {
            self.conversation = conversation
        }
    }

    package init() {}

    package var name: String { "claude" }
    package var shape: any FailureShape { ClaudeFailureShape() }
    package var pathPrefixes: [String] { ["/v1/messages"] }
    package var createPath: String { "/v1/messages" }
    package var idPrefix: String { "msg_" }
    package var endpoints: [DialectEndpoint] {
        [DialectEndpoint(.post, "/v1/messages/count_tokens") { call throws(ProxyFailure) in try Self.countTokens(call.body ?? [:]) }]
    }

    package func decode(_ body: JSONValue) throws(RequestError) -> Request {
        Request(conversation: try ClaudeRequestDecoder.decode(body))
    }

    package func streamEncoder(for request: Request, header: ReplyHeader) -> ClaudeReplyStream {
        ClaudeReplyStream(
            encoder: ClaudeStreamEncoder(
                messageID: header.id, model: header.model, inputTokens: header.inputTokens, appliedEdits: header.appliedEdits))
    }

    package func body(for request: Request, header: ReplyHeader, reply: ReplyAccumulator) throws(ProxyFailure) -> JSONValue {
        let message = ClaudeMessageAssembler(reply).message(
            id: header.id, model: header.model, inputTokens: header.inputTokens, appliedEdits: header.appliedEdits)
        guard let schema = request.conversation.responseSchema else { return message }
        return try Self.conforming(message, to: schema)
    }

    /// `count_tokens`: what the same body would cost on `/v1/messages`, after the same context edits.
    static func countTokens(_ body: JSONValue) throws(ProxyFailure) -> JSONValue {
        // count_tokens needs no max_tokens; give the decoder one so the same validation applies.
        let withMax = body["max_tokens"] == nil ? body.setting("max_tokens", to: 1) : body
        let conversation: Conversation
        do {
            conversation = try ClaudeRequestDecoder.decode(withMax)
        } catch {
            throw ProxyFailure(requestError: error)
        }
        var edited = conversation
        let applied = ContextEditor.apply(&edited)
        let tokens = TokenEstimator.inputTokens(of: edited)
        let original: JSONValue? = applied.isEmpty ? nil : ["original_input_tokens": .int(TokenEstimator.inputTokens(of: conversation))]
        return .object(["input_tokens": .int(tokens), "context_management": original])
    }

    /// A structured-output reply (`output_config.format`, `output_format`) as the bare JSON value, checked against
    /// its schema; a reply that does not conform is a 502 rather than data the client would take as valid.
    static func conforming(_ message: JSONValue, to schema: JSONValue) throws(ProxyFailure) -> JSONValue {
        guard case .object(var members) = message, let index = members.firstIndex(where: { $0.key == "content" }),
            let blocks = members[index].value.arrayValue
        else { return message }
        // Only a finished answer is held to the schema: a turn that calls a tool, or one cut by max_tokens or a
        // stop sequence, is passed on as it is.
        guard message["stop_reason"]?.stringValue == "end_turn", !blocks.contains(where: { $0["type"]?.stringValue == "tool_use" }) else {
            return message
        }
        let text = blocks.compactMap { $0["type"]?.stringValue == "text" ? $0["text"]?.stringValue : nil }.joined()
        switch StructuredOutput.conform(text, to: schema) {
        case .success(let json):
            var replaced = false
            members[index].value = .array(
                blocks.compactMap { block in
                    guard block["type"]?.stringValue == "text" else { return block }
                    if replaced { return nil }
                    replaced = true
                    return ["type": "text", "text": .string(json)]
                })
            return .object(members)
        case .failure(let violation):
            throw .schemaViolation(violation)
        }
    }
}

/// Claude's SSE: `event:` + `data:` lines, `ping` events as keep-alives, an `error` event for a late failure.
package struct ClaudeReplyStream: ReplyStreamEncoder {
    let encoder: ClaudeStreamEncoder
    /// The `content_block_delta` frames by delta kind and block index, made on first use.
    private var deltas: [DeltaKind: FrameTemplate] = [:]

    private enum DeltaKind: Hashable {
        case text(Int), thinking(Int), signature(Int), toolInput(Int)
    }

    init(encoder: ClaudeStreamEncoder) {
        self.encoder = encoder
    }

    package mutating func write(_ event: ReplyEvent, into bytes: inout [UInt8]) {
        switch event {
        case .textDelta(let index, let text): delta(.text(index), text, into: &bytes)
        case .thinkingDelta(let index, let text): delta(.thinking(index), text, into: &bytes)
        case .signatureDelta(let index, let signature): delta(.signature(index), signature, into: &bytes)
        case .toolInputDelta(let index, let json): delta(.toolInput(index), json, into: &bytes)
        default: for frame in encode(event) { frame.write(into: &bytes) }
        }
    }

    private mutating func delta(_ kind: DeltaKind, _ value: String, into bytes: inout [UInt8]) {
        if let template = deltas[kind] { return template.write(string: value, into: &bytes) }
        let marker = FrameTemplate.stringMarker
        let event: ReplyEvent =
            switch kind {
            case .text(let index): .textDelta(index: index, text: marker)
            case .thinking(let index): .thinkingDelta(index: index, text: marker)
            case .signature(let index): .signatureDelta(index: index, signature: marker)
            case .toolInput(let index): .toolInputDelta(index: index, json: marker)
            }
        let template = FrameTemplate(Self.frame(encoder.encode(event)[0]))
        deltas[kind] = template
        template.write(string: value, into: &bytes)
    }

    package func opening() -> [StreamFrame] {
        [Self.frame(encoder.messageStart()), Self.frame(ClaudeStreamEncoder.ping)]
    }

    package func encode(_ event: ReplyEvent) -> [StreamFrame] {
        encoder.encode(event).map(Self.frame)
    }

    package func keepAlive() -> StreamFrame { Self.frame(ClaudeStreamEncoder.ping) }

    package func failure(_ failure: ProxyFailure) -> [StreamFrame] {
        [Self.frame(ClaudeStreamEncoder.error(failure))]
    }

    static func frame(_ event: ClaudeStreamEvent) -> StreamFrame { .event(event.name, event.data) }
}
