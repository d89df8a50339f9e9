import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ProxyModels
import SSE
import Translation

/// `POST /v1/messages` and `POST /v1/messages/count_tokens`: the Claude Messages API.
package struct MessagesController: Sendable {
    let runtime: ProxyRuntime

    package init(runtime: ProxyRuntime) {
        self.runtime = runtime
    }

    package func addRoutes(to router: Router<ProxyRequestContext>) {
        router.post("/v1/messages", use: messages)
        router.post("/v1/messages/count_tokens", use: countTokens)
    }

    // MARK: - count_tokens

    @Sendable func countTokens(_ request: Request, context: ProxyRequestContext) async throws -> Response {
        let settings = runtime.settings
        let body = try await RequestReading.json(request, context: context, limit: settings.maxBodyBytes, timeout: settings.bodyTimeout)
        // count_tokens needs no max_tokens; give the decoder one so the same validation applies.
        let withMax = body["max_tokens"] == nil ? body.setting("max_tokens", to: 1) : body
        let conversation: Conversation
        do {
            conversation = try ClaudeRequestDecoder.decode(withMax)
        } catch {
            throw ProxyHTTPError(ClaudeError(requestError: error), dialect: .claude, requestID: context.requestID)
        }
        // The same context edits /v1/messages applies, so the count is what that request would send.
        var edited = conversation
        let applied = ContextEditor.apply(&edited)
        let tokens = TokenEstimator.inputTokens(of: edited)
        let original: JSONValue? = applied.isEmpty ? nil : ["original_input_tokens": .int(TokenEstimator.inputTokens(of: conversation))]
        return Self.jsonResponse(.object(["input_tokens": .int(tokens), "context_management": original]))
    }

    // MARK: - messages

    @Sendable func messages(_ request: Request, context: ProxyRequestContext) async throws -> Response {
        let settings = runtime.settings
        let conversation = try await RequestReading.decoded(request, context: context, limit: settings.maxBodyBytes, timeout: settings.bodyTimeout, ClaudeRequestDecoder.decode)
        for field in conversation.ignoredFields {
            runtime.debugOnce("claude.\(field)", "accepted and ignored a request field that only tunes Anthropic's serving: \(field)")
        }
        let exchange = try await ReplyExchange.start(
            conversation, runtime: runtime, settings: settings, dialect: .claude, requestID: context.requestID,
            routing: ExchangeRouting(request, context: context))

        let model = exchange.conversation.model
        let inputTokens = exchange.plan.inputTokens
        let edits = exchange.plan.appliedEdits
        let encoder = ClaudeStreamEncoder(messageID: RequestReading.newID("msg_"), model: model, inputTokens: inputTokens, appliedEdits: edits)
        if !exchange.conversation.stream {
            let reply = try await exchange.collect()
            var message = ClaudeMessageAssembler(reply).message(id: encoder.messageID, model: model, inputTokens: inputTokens, appliedEdits: edits)
            if let schema = exchange.conversation.responseSchema {
                message = try Self.conforming(message, to: schema, requestID: context.requestID)
            }
            return Self.jsonResponse(message)
        }
        return exchange.streamResponse(ClaudeStreamFraming(encoder: encoder), pingInterval: settings.pingInterval)
    }

    /// A structured-output reply (`output_config.format`, `output_format`) as the bare JSON value, checked against
    /// its schema; a reply that does not conform is a 502 rather than data the client would take as valid.
    static func conforming(_ message: JSONValue, to schema: JSONValue, requestID: String) throws(ProxyHTTPError) -> JSONValue {
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
            throw ProxyHTTPError(.schemaViolation(violation), dialect: .claude, requestID: requestID)
        }
    }

    static func jsonResponse(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: value.jsonBytes)))
    }
}

/// Claude's SSE: `event:` + `data:` lines, `ping` events as keep-alives, `error` events for late failures.
struct ClaudeStreamFraming: ReplyStreamFraming {
    let encoder: ClaudeStreamEncoder

    func appendOpening(to buffer: inout ByteBuffer) {
        Self.append(encoder.messageStart(), to: &buffer)
        Self.append(ClaudeStreamEncoder.ping, to: &buffer)
    }

    func append(_ event: ReplyEvent, to buffer: inout ByteBuffer) {
        for sse in encoder.encode(event) { Self.append(sse, to: &buffer) }
    }

    func appendKeepAlive(to buffer: inout ByteBuffer) {
        Self.append(ClaudeStreamEncoder.ping, to: &buffer)
    }

    func appendFailure(_ error: ClaudeError, to buffer: inout ByteBuffer) {
        Self.append(ClaudeStreamEvent("error", error.body(requestID: nil)), to: &buffer)
    }

    static func append(_ event: ClaudeStreamEvent, to buffer: inout ByteBuffer) {
        ServerSentEvent.write(event: event.name, data: event.data.jsonBytes, into: &buffer)
    }
}

/// Lower-case UUID text for upstream ids.
enum UUIDText {
    static func make() -> String { UUID().uuidString.lowercased() }
}
