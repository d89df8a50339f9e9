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
        let tokens = TokenEstimator.inputTokens(of: conversation)
        return Self.jsonResponse(["input_tokens": .int(tokens)])
    }

    // MARK: - messages

    @Sendable func messages(_ request: Request, context: ProxyRequestContext) async throws -> Response {
        let settings = runtime.settings
        let conversation = try await RequestReading.decoded(request, context: context, limit: settings.maxBodyBytes, timeout: settings.bodyTimeout, ClaudeRequestDecoder.decode)
        let exchange = try await ReplyExchange.start(
            conversation, runtime: runtime, settings: settings, dialect: .claude, requestID: context.requestID,
            routing: ExchangeRouting(request, context: context))

        let model = exchange.conversation.model
        let inputTokens = exchange.plan.inputTokens
        let edits = exchange.plan.appliedEdits
        let encoder = ClaudeStreamEncoder(messageID: RequestReading.newID("msg_"), model: model, inputTokens: inputTokens, appliedEdits: edits)
        if !exchange.conversation.stream {
            let reply = try await exchange.collect()
            return Self.jsonResponse(
                ClaudeMessageAssembler(reply).message(id: encoder.messageID, model: model, inputTokens: inputTokens, appliedEdits: edits))
        }
        return exchange.streamResponse(ClaudeStreamFraming(encoder: encoder), pingInterval: settings.pingInterval)
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
