import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ProxyModels
import Translation

/// The dialect-independent part of serving a chat request: resolve the model, plan the upstream
/// request, run the `ReplyPump` with failover, and let its first message decide the HTTP status;
/// then either assemble the whole reply or stream it with keep-alives.
struct ReplyExchange: Sendable {
    /// The conversation as planned (with the model's thinking default applied).
    let conversation: Conversation
    let plan: UpstreamRequestPlan
    let pump: ReplyPump
    let channel: ReplyChannel
    let task: Task<Void, Never>
    /// The shape errors of this exchange take (its dialect's).
    let shape: any FailureShape
    let requestID: String
    /// The request's access-log recorder (model, account, first token, usage).
    let recorder: AccessLogRecorder?
    /// Cancels the exchange when the client hangs up, from before the first reply event to the end of the reply.
    let hangup: ConnectionHangups.Registration?
    /// The client's connection (its event loop runs the stream's keep-alive timer); nil in tests without one.
    let connection: (any Channel)?
    /// The connection's event loop as a task executor: the pump and the writer both prefer it.
    let executor: EventLoopExecutor?
    /// The key permit this exchange releases itself when the reply is over: only when there is no recorder to hold
    /// it (an exchange run outside the HTTP server); otherwise the access-log line releases it, with the tokens.
    let unrecordedPermit: KeyPermit?

    func fail(_ failure: ProxyFailure) -> ProxyHTTPError {
        ProxyHTTPError(failure, shape: shape, requestID: requestID)
    }

    /// Starts the exchange. Errors before the first reply event (unknown model, unplannable
    /// request, every account refused) are thrown in the dialect's shape.
    static func start(
        _ conversation: Conversation, runtime: ProxyRuntime, settings: ServerSettings, shape: any FailureShape, requestID: String,
        routing: ExchangeRouting = ExchangeRouting()
    ) async throws(ProxyHTTPError) -> ReplyExchange {
        func fail(_ failure: ProxyFailure) -> ProxyHTTPError { ProxyHTTPError(failure, shape: shape, requestID: requestID) }
        var conversation = conversation
        let recorder = AccessLogRecorder.current
        let clientModel = conversation.model
        recorder?.update {
            $0.model = clientModel
            $0.metricModel = settings.metricModel(clientModel)
        }
        guard let model = runtime.resolveModel(conversation.model, settings: settings) else {
            throw fail(.unknownModel("model: \(conversation.model) is not served by this proxy; GET /v1/models lists the models"))
        }
        if model.thinking && conversation.thinking == nil { conversation.thinking = .enabled(budgetTokens: 16_000) }
        // The key's allowlist and limits, before an account is checked out.
        let unrecordedPermit: KeyPermit?
        switch runtime.admitKey(
            named: routing.apiKeyName, clientModel: clientModel, model: model, settings: settings, recorder: recorder,
            connection: routing.connection)
        {
        case .success(let permit): unrecordedPermit = recorder == nil ? permit : nil
        case .failure(let refusal): throw fail(refusal)
        }

        let plan: UpstreamRequestPlan
        do {
            plan = try UpstreamRequestBuilder.build(
                conversation, template: settings.template,
                options: .init(
                    modelID: model.upstreamID, maximumInputTokens: settings.maxInputTokens, currentTime: RequestReading.currentTimeText(),
                    makeID: { UUIDText.make() }))
        } catch {
            unrecordedPermit?.release()
            throw fail(ProxyFailure(requestError: error))
        }
        var logger = runtime.logger
        logger[metadataKey: "request.id"] = "\(requestID)"
        if !plan.repairs.isEmpty { logger.debug("request repaired", metadata: ["repairs": "\(plan.repairs.count)"]) }

        var pump = ReplyPump(
            runtime: runtime, settings: settings, plan: plan,
            translator: .init(
                thinkingRequested: plan.thinkingRequested, stopSequences: conversation.stopSequences, maxTokens: conversation.maxTokens,
                inputTokens: plan.inputTokens, toolNames: plan.toolNames, thinkingOmitted: conversation.thinkingDisplay == .omitted),
            logger: logger, recorder: recorder)
        pump.sessionKey = routing.sessionKey ?? conversation.sessionKey
        pump.pinnedAccount = routing.pinnedAccount
        let executor = routing.connection.map { EventLoopExecutor($0.eventLoop) }
        let (channel, task) = pump.start(on: executor)
        // Known to a shutdown from now on: past its drain time it ends the reply with the dialect's error.
        runtime.openReplies.add(channel)
        // A client that hangs up cancels the pump (and so the upstream request) right away, also while the first
        // reply event is awaited or when the response never gets to be written: the registration lives until the
        // reply's end (`finishReply`) or the connection's.
        let hangup = routing.connection.map { connection in
            runtime.hangups.onHangup(of: connection) {
                task.cancel()
                channel.close()
            }
        }

        // The first message decides the status: a failure before any content is a real HTTP error.
        guard let first = await channel.next() else {
            unrecordedPermit?.release()
            runtime.openReplies.remove(channel)
            hangup.map(runtime.hangups.cancel)
            task.cancel()
            throw fail(.internalError("the upstream exchange ended without a reply"))
        }
        if case .failed(let error) = first {
            unrecordedPermit?.release()
            runtime.openReplies.remove(channel)
            hangup.map(runtime.hangups.cancel)
            task.cancel()
            throw fail(error)
        }
        if case .opened(let account) = first {
            // An account took the request: from now on its input counts, even if the client hangs up before the end.
            recorder?.update {
                $0.account = account
                $0.inputTokens = plan.inputTokens
                $0.outputTokens = 0
            }
        }
        return ReplyExchange(
            conversation: conversation, plan: plan, pump: pump, channel: channel, task: task, shape: shape, requestID: requestID,
            recorder: recorder, hangup: hangup, connection: routing.connection, executor: executor, unrecordedPermit: unrecordedPermit)
    }

    /// The whole reply, for a non-streaming response; a failure in the middle of it is thrown.
    func collect() async throws(ProxyHTTPError) -> ReplyAccumulator {
        defer { finishReply() }
        var reply = ReplyAccumulator()
        while let batch = await channel.drain() {
            for message in batch.messages {
                switch message {
                case .events(let events):
                    recorder?.markFirstToken()
                    Self.recordUsage(events, into: recorder)
                    for event in events { reply.add(event) }
                case .failed(let error):
                    // The server ended the reply (a shutdown past its drain time).
                    throw fail(error)
                case .opened:
                    continue
                }
            }
        }
        if let failure = reply.failure {
            throw fail(pump.clientError(for: failure))
        }
        if Task.isCancelled || channel.isClosed {
            // Cut short (the client hung up, or the server is stopping): not a whole reply.
            throw fail(.internalError("the reply was interrupted"))
        }
        return reply
    }

    /// The reply is over (written, refused or abandoned): forget the hang-up registration, release the pump.
    func finishReply() {
        unrecordedPermit?.release(tokens: 0)
        pump.runtime.openReplies.remove(channel)
        hangup.map(pump.runtime.hangups.cancel)
        channel.close()
        task.cancel()
    }

    /// The `text/event-stream` response that writes the reply as it comes.
    /// - Parameter keep: given the whole reply once the stream is over, when the dialect keeps replies (Responses `store`).
    func streamResponse<Stream: ReplyStreamEncoder>(
        _ encoder: Stream, pingInterval: Duration, keep: (@Sendable (ReplyAccumulator) async -> Void)? = nil
    ) -> Response {
        let exchange = self
        let headers: HTTPFields = [.contentType: "text/event-stream", .cacheControl: "no-cache", HTTPField.Name("x-accel-buffering")!: "no"]
        let channel = channel
        let recorder = recorder
        let metrics = pump.runtime.metrics
        recorder?.update { $0.stream = true }
        return Response(
            status: .ok, headers: headers,
            body: ResponseBody { writer in
                metrics.streamStarted()
                defer {
                    exchange.finishReply()
                    metrics.streamFinished()
                }
                var framing = StreamFraming(encoder: encoder, keeping: keep != nil)
                var buffer = ByteBuffer()
                framing.appendOpening()
                framing.flush(into: &buffer)
                try await writer.write(buffer)
                // On the connection's event loop, like the pump: one thread per frame instead of a hop each way.
                let ended = try await withTaskExecutorPreference(exchange.executor) {
                    try await Self.streamEvents(
                        channel, framing: &framing, pingInterval: pingInterval, writer: &writer, recorder: recorder,
                        eventLoop: exchange.connection?.eventLoop)
                }
                var over = ended
                if !ended, !channel.isClosed {
                    // Cut without a last event while the client is still there (the server stopped this request's
                    // task, as a listener removed by a reload does after its grace period): say so rather than end
                    // the stream as if the reply were whole. Best effort: the connection may already be going.
                    buffer.clear()
                    framing.appendFailure(.overloaded("the server stopped before the reply was complete; retry the request"))
                    framing.flush(into: &buffer)
                    try? await writer.write(buffer)
                    over = true
                }
                // A reply the client walked away from is not kept: it has no end to keep.
                if over, let keep, let kept = framing.kept { await keep(kept) }
                try await writer.finish(nil)
            })
    }

    /// Writes events as they come, everything the pump handed over since the last write in one write, with a
    /// keep-alive whenever the upstream has been silent for `pingInterval`.
    /// - Returns: whether the stream got its last event (a finish, or an error event).
    @discardableResult
    static func streamEvents<Stream: ReplyStreamEncoder>(
        _ channel: ReplyChannel, framing: inout StreamFraming<Stream>, pingInterval: Duration, writer: inout any ResponseBodyWriter,
        recorder: AccessLogRecorder? = nil, eventLoop: (any EventLoop)? = nil
    ) async throws -> Bool {
        // The keep-alive timer: on the connection's event loop when there is one, because a cancelled
        // `Task.sleep` stays scheduled until its deadline, so every finished stream would leave one behind for
        // up to `pingInterval`.
        let interval = TimeAmount(pingInterval)
        let ticker: RepeatedTask? = eventLoop?.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in channel.tick() }
        let sleeper: Task<Void, Never>? =
            ticker != nil
            ? nil
            : Task {
                while !Task.isCancelled {
                    try? await Task.sleep(for: pingInterval)
                    channel.tick()
                }
            }
        defer {
            ticker?.cancel()
            sleeper?.cancel()
        }
        var lastWrite = ContinuousClock.now
        var buffer = ByteBuffer()
        var finished = false
        while !finished, let batch = await channel.drain() {
            buffer.clear()
            var carriedEvents = false
            for message in batch.messages {
                switch message {
                case .events(let events):
                    carriedEvents = true
                    recordUsage(events, into: recorder)
                    for event in events {
                        framing.append(event)
                        if isTerminal(event) { finished = true }
                    }
                case .failed(let failure):
                    framing.appendFailure(failure)
                    finished = true
                case .opened:
                    continue
                }
                if finished { break }
            }
            if framing.isEmpty, batch.tick, ContinuousClock.now - lastWrite >= pingInterval * 0.9 {
                framing.appendKeepAlive()
            }
            if !framing.isEmpty {
                framing.flush(into: &buffer)
                try await writer.write(buffer)
                lastWrite = .now
                if carriedEvents { recorder?.markFirstToken(at: lastWrite) }
            }
        }
        return finished
    }

    /// Counts the tokens of a batch of reply events as they go out, so that a reply cut short (the client hung up,
    /// the upstream failed) is still charged what it used: each delta adds its estimate to the output tokens; the
    /// finish event carries the reply's usage and replaces both counts.
    static func recordUsage(_ events: [ReplyEvent], into recorder: AccessLogRecorder?) {
        guard let recorder else { return }
        var output = 0
        var finish: ReplyFinish?
        for event in events {
            switch event {
            case .textDelta(_, let text), .thinkingDelta(_, let text), .toolInputDelta(_, let text):
                output += TokenEstimator.tokens(in: text)
            case .finish(let last):
                finish = last
            default:
                continue
            }
        }
        guard output > 0 || finish != nil else { return }
        recorder.update {
            if let finish {
                $0.inputTokens = finish.usage.inputTokens + finish.usage.cacheReadInputTokens + finish.usage.cacheCreationInputTokens
                $0.outputTokens = finish.usage.outputTokens
            } else {
                $0.outputTokens = ($0.outputTokens ?? 0) + output
            }
        }
    }

    static func isTerminal(_ event: ReplyEvent) -> Bool {
        switch event {
        case .finish, .failure: true
        default: false
        }
    }
}
