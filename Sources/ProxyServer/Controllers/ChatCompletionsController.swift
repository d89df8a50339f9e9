import Foundation
import Hummingbird
import NIOCore
import ProxyModels
import SSE
import Translation

/// `POST /v1/chat/completions`: the OpenAI Chat Completions API over the same neutral core as
/// `/v1/messages`; only the decoding and encoding are its own. Errors are always in OpenAI's shape.
struct ChatCompletionsController: Sendable {
    let runtime: ProxyRuntime

    func addRoutes(to router: Router<ProxyRequestContext>) {
        router.post("/v1/chat/completions", use: completions)
    }

    @Sendable func completions(_ request: Request, context: ProxyRequestContext) async throws -> Response {
        let settings = runtime.settings
        var context = context
        context.dialect = .openAI  // as the dialect middleware decided for this path; every error here is in OpenAI's shape
        let decoded = try await RequestReading.decoded(request, context: context, limit: settings.maxBodyBytes, timeout: settings.bodyTimeout, OpenAIRequestDecoder.decode)
        let exchange = try await ReplyExchange.start(
            decoded.conversation, runtime: runtime, settings: settings, dialect: .openAI, requestID: context.requestID,
            routing: ExchangeRouting(request, context: context))

        let id = RequestReading.newID("chatcmpl-")
        let created = Int(Date().timeIntervalSince1970)
        let model = exchange.conversation.model
        if !exchange.conversation.stream {
            let reply = try await exchange.collect()
            var completion = OpenAICompletionAssembler.completion(reply, id: id, model: model, created: created, inputTokens: exchange.plan.inputTokens)
            if let schema = exchange.conversation.responseSchema {
                completion = try Self.conforming(completion, to: schema, requestID: context.requestID)
            }
            return MessagesController.jsonResponse(completion)
        }
        let encoder = OpenAIStreamEncoder(completionID: id, model: model, created: created, includeUsage: decoded.includeUsage)
        return exchange.streamResponse(OpenAIStreamFraming(encoder: encoder), pingInterval: settings.pingInterval)
    }
}

extension ChatCompletionsController {
    /// A `json_schema` reply as the bare JSON value, checked against its schema (502 when it does not conform).
    static func conforming(_ completion: JSONValue, to schema: JSONValue, requestID: String) throws(ProxyHTTPError) -> JSONValue {
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
            throw ProxyHTTPError(.schemaViolation(violation), dialect: .openAI, requestID: requestID)
        }
    }
}

/// OpenAI's SSE: `data:` lines only, comment lines as keep-alives, `data: [DONE]` after the finish.
/// A late failure is an `error` chunk (the SDKs raise it as `APIError`) and the stream ends without `[DONE]`.
struct OpenAIStreamFraming: ReplyStreamFraming {
    var encoder: OpenAIStreamEncoder

    func appendOpening(to buffer: inout ByteBuffer) {
        Self.append(encoder.roleChunk(), to: &buffer)
    }

    mutating func append(_ event: ReplyEvent, to buffer: inout ByteBuffer) {
        for chunk in encoder.encode(event) { Self.append(chunk, to: &buffer) }
        if case .finish = event { ServerSentEvent.writeDone(into: &buffer) }
    }

    func appendKeepAlive(to buffer: inout ByteBuffer) {
        ServerSentEvent.writeComment("keep-alive", into: &buffer)
    }

    func appendFailure(_ error: ClaudeError, to buffer: inout ByteBuffer) {
        Self.append(OpenAIErrorBody.body(for: error), to: &buffer)
    }

    static func append(_ chunk: JSONValue, to buffer: inout ByteBuffer) {
        ServerSentEvent.write(event: nil, data: chunk.jsonBytes, into: &buffer)
    }
}
