import ProxyModels

/// The OpenAI Chat Completions API: `POST /v1/chat/completions`.
package struct OpenAIChatDialect: Dialect {
    package init() {}

    package var name: String { "openai" }
    package var shape: any FailureShape { OpenAIFailureShape() }
    /// The legacy completions path is OpenAI's too: a client that tries it gets an error it can read.
    package var pathPrefixes: [String] { ["/v1/chat/", "/v1/completions"] }
    package var createPath: String { "/v1/chat/completions" }
    package var idPrefix: String { "chatcmpl-" }

    package func decode(_ body: JSONValue) throws(RequestError) -> OpenAIRequest {
        try OpenAIRequestDecoder.decode(body)
    }

    package func streamEncoder(for request: OpenAIRequest, header: ReplyHeader) -> OpenAIChatReplyStream {
        OpenAIChatReplyStream(
            encoder: OpenAIStreamEncoder(completionID: header.id, model: header.model, created: header.created, includeUsage: request.includeUsage))
    }

    package func body(for request: OpenAIRequest, header: ReplyHeader, reply: ReplyAccumulator) throws(ProxyFailure) -> JSONValue {
        let completion = OpenAICompletionAssembler.completion(
            reply, id: header.id, model: header.model, created: header.created, inputTokens: header.inputTokens)
        guard let schema = request.conversation.responseSchema else { return completion }
        return try Self.conforming(completion, to: schema)
    }

    /// A `json_schema` reply as the bare JSON value, checked against its schema (502 when it does not conform).
    static func conforming(_ completion: JSONValue, to schema: JSONValue) throws(ProxyFailure) -> JSONValue {
        guard case .object(var members) = completion, let index = members.firstIndex(where: { $0.key == "choices" }),
            var choices = members[index].value.arrayValue, case .object(var choice)? = choices.first,
            let messageIndex = choice.firstIndex(where: { $0.key == "message" }), case .object(var message) = choice[messageIndex].value,
            let contentIndex = message.firstIndex(where: { $0.key == "content" }), let text = message[contentIndex].value.stringValue,
            // Only a finished answer is held to the schema, as on /v1/messages.
            choice.first(where: { $0.key == "finish_reason" })?.value.stringValue == "stop",
            message.first(where: { $0.key == "tool_calls" }) == nil
        else { return completion }
        switch StructuredOutput.conform(text, to: schema) {
        case .success(let json):
            message[contentIndex].value = .string(json)
            choice[messageIndex].value = .object(message)
            choices[0] = .object(choice)
            members[index].value = .array(choices)
            return .object(members)
        case .failure(let violation):
            throw .schemaViolation(violation)
        }
    }
}

extension OpenAIRequest: DialectRequest {}

/// OpenAI's SSE: `data:` lines only, comment lines as keep-alives, `data: [DONE]` after the finish.
/// A late failure is an `error` chunk (the SDKs raise it as `APIError`) and the stream ends without `[DONE]`.
package struct OpenAIChatReplyStream: ReplyStreamEncoder {
    var encoder: OpenAIStreamEncoder

    package func opening() -> [StreamFrame] {
        [.event(nil, encoder.roleChunk())]
    }

    package mutating func encode(_ event: ReplyEvent) -> [StreamFrame] {
        var frames = encoder.encode(event).map { StreamFrame.event(nil, $0) }
        if case .finish = event { frames.append(.data("[DONE]")) }
        return frames
    }

    package mutating func write(_ event: ReplyEvent, into bytes: inout [UInt8]) {
        if encoder.writeDelta(event, into: &bytes) { return }
        for frame in encode(event) { frame.write(into: &bytes) }
    }

    package func keepAlive() -> StreamFrame { .comment("keep-alive") }

    package func failure(_ failure: ProxyFailure) -> [StreamFrame] {
        [.event(nil, OpenAIFailureShape().body(of: failure, requestID: nil))]
    }
}
