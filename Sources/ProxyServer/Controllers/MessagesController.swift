import AsyncAlgorithms
import HTTPTypes
import Hummingbird
import Logging
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
        let body = try await RequestReading.json(request, context: context, limit: settings.maxBodyBytes)
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
        let body = try await RequestReading.json(request, context: context, limit: settings.maxBodyBytes)
        let requestID = context.requestID
        func fail(_ error: ClaudeError) -> ProxyHTTPError { ProxyHTTPError(error, dialect: .claude, requestID: requestID) }

        var conversation: Conversation
        do {
            conversation = try ClaudeRequestDecoder.decode(body)
        } catch {
            throw fail(ClaudeError(requestError: error))
        }
        guard let model = settings.resolveModel(conversation.model) else {
            throw fail(.notFound("model: \(conversation.model) is not served by this proxy; GET /v1/models lists the models"))
        }
        if model.thinking && conversation.thinking == nil { conversation.thinking = .enabled(budgetTokens: 16_000) }

        let plan: UpstreamRequestPlan
        do {
            plan = try UpstreamRequestBuilder.build(
                conversation, template: settings.template,
                options: .init(
                    modelId: model.upstreamID, maximumInputTokens: settings.maxInputTokens, currentTime: RequestReading.currentTimeText(),
                    makeID: { UUIDText.make() }))
        } catch {
            throw fail(ClaudeError(requestError: error))
        }
        var logger = runtime.logger
        logger[metadataKey: "request.id"] = "\(requestID)"
        if !plan.repairs.isEmpty { logger.debug("request repaired", metadata: ["repairs": "\(plan.repairs.count)"]) }

        let pump = ReplyPump(
            runtime: runtime, settings: settings, plan: plan,
            translator: .init(
                thinkingRequested: plan.thinkingRequested, stopSequences: conversation.stopSequences, maxTokens: conversation.maxTokens,
                inputTokens: plan.inputTokens, toolNames: plan.toolNames),
            logger: logger)
        let (channel, task) = pump.start()

        // The first message decides the status: a failure before any content is a real HTTP error.
        var iterator = channel.makeAsyncIterator()
        guard let first = await iterator.next() else {
            task.cancel()
            throw fail(.api("the upstream exchange ended without a reply"))
        }
        if case .failed(let error) = first {
            task.cancel()
            throw fail(error)
        }

        let encoder = ClaudeStreamEncoder(messageID: RequestReading.newID("msg_"), model: conversation.model, inputTokens: plan.inputTokens)
        if !conversation.stream {
            var assembler = ClaudeMessageAssembler()
            while let message = await iterator.next() {
                if case .events(let events) = message { for event in events { assembler.add(event) } }
            }
            if let failure = assembler.failure {
                throw fail(pump.clientError(for: failure))
            }
            return Self.jsonResponse(assembler.message(id: encoder.messageID, model: conversation.model, inputTokens: plan.inputTokens))
        }

        let pingInterval = settings.pingInterval
        let headers: HTTPFields = [.contentType: "text/event-stream", .cacheControl: "no-cache", HTTPField.Name("x-accel-buffering")!: "no"]
        return Response(
            status: .ok, headers: headers,
            body: ResponseBody { writer in
                defer { task.cancel() }
                var buffer = ByteBuffer()
                Self.append(encoder.messageStart(), to: &buffer)
                Self.append(ClaudeStreamEncoder.ping, to: &buffer)
                try await writer.write(buffer)
                try await Self.streamEvents(channel, encoder: encoder, pingInterval: pingInterval, writer: &writer)
                try await writer.finish(nil)
            })
    }

    /// Writes events as they come, with a `ping` whenever the upstream has been silent for `pingInterval`.
    static func streamEvents(
        _ channel: AsyncChannel<PumpMessage>, encoder: ClaudeStreamEncoder, pingInterval: Duration, writer: inout any ResponseBodyWriter
    ) async throws {
        enum Item: Sendable {
            case message(PumpMessage)
            case tick
        }
        let ticks = AsyncTimerSequence(interval: pingInterval, clock: .continuous).map { _ in Item.tick }
        var lastWrite = ContinuousClock.now
        var buffer = ByteBuffer()
        for await item in merge(channel.map { Item.message($0) }, ticks) {
            buffer.clear()
            switch item {
            case .tick:
                guard ContinuousClock.now - lastWrite >= pingInterval * 0.9 else { continue }
                append(ClaudeStreamEncoder.ping, to: &buffer)
            case .message(.events(let events)):
                for event in events {
                    for sse in encoder.encode(event) { append(sse, to: &buffer) }
                }
            case .message(.failed(let error)):
                let body = error.body(requestID: nil)
                append(ClaudeStreamEvent("error", body), to: &buffer)
            case .message(.opened):
                continue
            }
            if buffer.readableBytes > 0 {
                try await writer.write(buffer)
                lastWrite = .now
            }
            if case .message(.events(let events)) = item, events.contains(where: Self.isTerminal) { break }
        }
    }

    static func isTerminal(_ event: ReplyEvent) -> Bool {
        switch event {
        case .finish, .failure: true
        default: false
        }
    }

    static func append(_ event: ClaudeStreamEvent, to buffer: inout ByteBuffer) {
        ServerSentEvent.write(event: event.name, data: event.data.jsonBytes, into: &buffer)
    }

    static func jsonResponse(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: value.jsonBytes)))
    }
}

/// Lower-case UUID text for upstream ids.
enum UUIDText {
    static func make() -> String {
        var generator = SystemRandomNumberGenerator()
        var bytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        bytes[6] = (bytes[6] & 0x0F) | 0x40
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        let hex = bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
        let characters = Array(hex)
        return [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { String(characters[$0]) }.joined(separator: "-")
    }
}
