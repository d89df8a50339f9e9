import Accounts
import Logging
import ProxyConfig
import ProxyModels
import Translation
import Upstream

/// What the pump tells the response writer, in order: `opened` once, then `events`, or a
/// single `failed` when no byte has been promised to the client yet.
package enum PumpMessage: Sendable {
    case opened(account: String)
    case events([ReplyEvent])
    case failed(ProxyFailure)
}

/// Runs one upstream exchange for a planned request: picks an account, gets it a token, sends,
/// fails over on retryable errors until the first reply event, then streams neutral reply
/// events through a back-pressured channel.
///
/// It runs in its own task so the handler can decide the HTTP status from the first message
/// while the body keeps streaming; the consumer cancels it when the client goes away.
package struct ReplyPump: Sendable {
    let runtime: ProxyRuntime
    let settings: ServerSettings
    let plan: UpstreamRequestPlan
    let translatorConfiguration: ReplyTranslator.Configuration
    let logger: Logger
    /// The request's access-log recorder: the pump notes the account tried and the upstream errors.
    let recorder: AccessLogRecorder?
    /// Session affinity: `X-Claude-Code-Session-Id`, else `metadata.user_id`; nil for none.
    package var sessionKey: String?
    /// An account picked by an admin (the console's playground); no failover to others.
    package var pinnedAccount: String?

    package init(
        runtime: ProxyRuntime, settings: ServerSettings, plan: UpstreamRequestPlan, translator: ReplyTranslator.Configuration, logger: Logger,
        recorder: AccessLogRecorder? = nil
    ) {
        self.runtime = runtime
        self.settings = settings
        self.plan = plan
        self.translatorConfiguration = translator
        self.logger = logger
        self.recorder = recorder
    }

    /// Starts the exchange; the returned channel yields the messages, the task can be cancelled.
    /// - Parameter executor: where the pump runs (the client connection's event loop), nil for the global pool.
    package func start(on executor: (any TaskExecutor)? = nil) -> (ReplyChannel, Task<Void, Never>) {
        let channel = ReplyChannel()
        let task = Task(executorPreference: executor) {
            await run(into: channel)
            channel.finish()
        }
        return (channel, task)
    }

    func run(into channel: ReplyChannel) async {
        let pool = runtime.pool
        var tried = Set<String>()
        var lastFailure: QUpstreamFailure?
        var serialised: [UInt8]?
        func body() -> [UInt8] {
            if let serialised { return serialised }
            let bytes = plan.body.jsonBytes
            serialised = bytes
            return bytes
        }
        let attempts = pinnedAccount == nil ? 1 + max(0, settings.retries) : 1

        for _ in 0..<attempts {
            if Task.isCancelled { return }
            let decision = pinnedAccount.map { pool.checkout(only: $0) } ?? checkoutPreferringModel(tried: tried)
            guard case .account(let account) = decision else {
                if let pinnedAccount, lastFailure == nil {
                    await channel.send(.failed(.invalidRequest("x-q2api-account: account \(pinnedAccount) does not exist or cannot serve now")))
                    return
                }
                break
            }
            tried.insert(account.id)
            recorder?.update {
                $0.account = account.id
                $0.attempts += 1
            }
            var accountLogger = logger
            accountLogger[metadataKey: "account"] = "\(account.id)"

            var token: String
            do {
                token = try await pool.accessToken(for: account.id)
            } catch {
                pool.checkin(account.id, outcome: .failure(.other, message: "token refresh failed"))
                runtime.persistence?.recordRequest(account: account.id, succeeded: false)
                lastFailure = QUpstreamFailure(
                    kind: .authExpired, status: nil, name: "TokenRefresh", reason: nil, message: "the account's token could not be refreshed")
                continue
            }

            // Organisation accounts name their profile in the body (AMAZON_Q.md §1.3): the template's `{{profile_arn}}`,
            // rendered for this account, with its kind's `{{origin}}` (the template's `origins`). OIDC accounts without
            // a profile share one serialisation.
            let profileARN = account.profileARN ?? pool.profileARN(for: account.id)
            let accountBody = profileARN == nil && account.kind == .oidc ? body() : plan.body(for: account.kind, profileARN: profileARN).jsonBytes
            var reply: AmazonQClient.Reply
            do {
                reply = try await send(account: account, token: token, body: accountBody, logger: accountLogger)
                // One refresh-and-retry on the same account when the upstream calls the token expired.
                if case .failure(let failure) = reply, failure.kind == .authExpired {
                    token = try await pool.accessToken(for: account.id, rejected: token)
                    reply = try await send(account: account, token: token, body: accountBody, logger: accountLogger)
                }
            } catch let failure as QUpstreamFailure {
                reply = .failure(failure)
            } catch {
                reply = .failure(
                    QUpstreamFailure(
                        kind: .authExpired, status: nil, name: "TokenRefresh", reason: nil, message: "the account's token could not be refreshed"))
            }

            switch reply {
            case .failure(let failure):
                record(failure, account: account.id)
                lastFailure = failure
                accountLogger.notice("upstream refused", metadata: ["kind": "\(failure.kind.rawValue)", "upstream.error": "\(failure.name)"])
                if failure.allowsFailover { continue }
                await channel.send(.failed(clientError(for: failure)))
                return
            case .stream(let stream):
                switch await relay(stream, account: account.id, into: channel, logger: accountLogger) {
                case .delivered:
                    return
                case .failedBeforeContent(let failure):
                    record(failure, account: account.id)
                    lastFailure = failure
                    if failure.allowsFailover { continue }
                    await channel.send(.failed(clientError(for: failure)))
                    return
                }
            }
        }

        if let lastFailure, lastFailure.kind == .throttled, let seconds = pool.secondsUntilNextRecovery {
            // Every account is cooling now: the client may come back when the first one does, not sooner.
            await channel.send(
                .failed(.rateLimited("all upstream accounts are throttled; the first one is usable again in \(seconds) s", retryAfter: seconds)))
        } else if let lastFailure {
            await channel.send(.failed(clientError(for: lastFailure)))
        } else if pool.totalCount == 0 {
            await channel.send(.failed(.overloaded("no upstream account is configured; add one under accounts: in q2api.yaml")))
        } else if let seconds = pool.secondsUntilNextRecovery {
            await channel.send(.failed(.rateLimited("all upstream accounts are cooling down after throttling", retryAfter: seconds)))
        } else {
            await channel.send(.failed(.overloaded("no upstream account is usable right now")))
        }
    }

    private func send(account: AccountCredentials, token: String, body: [UInt8], logger: Logger) async throws(QUpstreamFailure) -> AmazonQClient.Reply
    {
        let client: AmazonQClient
        do {
            client = try runtime.qClient(for: account)
        } catch {
            throw QUpstreamFailure(
                kind: .transient, status: nil, name: "ProxyConfiguration", reason: nil, message: "the account's proxy: \(error.message)")
        }
        return try await client.send(
            endpoint: account.endpoint ?? settings.upstreamEndpoint,
            headers: settings.template.headers(kiroMachineID: account.kiroHeadersMachineID), accessToken: token,
            body: body,
            logger: logger)
    }

    enum RelayResult {
        case delivered
        case failedBeforeContent(QUpstreamFailure)
    }

    /// Streams events to the channel. A failure before any reply event is handed back for failover.
    private func relay(_ stream: QEventStream, account: String, into channel: ReplyChannel, logger: Logger) async -> RelayResult {
        var translator = ReplyTranslator(translatorConfiguration)
        var opened = false
        var usage: (input: Int, output: Int) = (0, 0)
        func note(_ events: [ReplyEvent]) {
            for case .finish(let finish) in events {
                usage = (
                    finish.usage.inputTokens + finish.usage.cacheReadInputTokens + finish.usage.cacheCreationInputTokens, finish.usage.outputTokens
                )
            }
        }
        var iterator = stream.makeAsyncIterator()
        do {
            // One channel message per network read: the events of a read are translated together.
            batches: while let batch = try await iterator.nextBatch() {
                if Task.isCancelled { break }
                var pending: [ReplyEvent] = []
                for event in batch {
                    let out = translator.handle(event)
                    if out.isEmpty { continue }
                    if !opened {
                        if case .failure(let failure)? = out.first, out.count == 1 { return .failedBeforeContent(failure) }
                        opened = true
                        await channel.send(.opened(account: account))
                    }
                    note(out)
                    pending += out
                    if translator.isFinished { break }
                }
                if !pending.isEmpty, await !channel.send(.events(pending)) { break batches }  // the writer is gone
                if translator.isFinished { break batches }
            }
            if Task.isCancelled || !translator.isFinished && channel.isClosed {
                runtime.pool.checkin(account, outcome: .cancelled)
                return .delivered
            }
            let out = translator.finish()
            if !opened {
                opened = true
                await channel.send(.opened(account: account))
            }
            note(out)
            if !out.isEmpty { await channel.send(.events(out)) }
            runtime.pool.checkin(account, outcome: .success)
            runtime.persistence?.recordRequest(account: account, succeeded: true, inputTokens: usage.input, outputTokens: usage.output)
        } catch {
            if !opened { return .failedBeforeContent(error) }
            logger.warning("upstream stream failed", metadata: ["upstream.error": "\(error.name)"])
            record(error, account: account)
            await channel.send(.events(translator.handle(.failure(error))))
        }
        return .delivered
    }

    /// An account for the next attempt: first among those not known to lack the model (model discovery), then any.
    private func checkoutPreferringModel(tried: Set<String>) -> CheckoutDecision {
        let lacking = runtime.modelCatalog.accountsLacking(plan.modelID)
        if !lacking.isEmpty, case .account(let account) = runtime.pool.checkout(sessionKey: sessionKey, excluding: tried.union(lacking)) {
            return .account(account)
        }
        return runtime.pool.checkout(sessionKey: sessionKey, excluding: tried)
    }

    private func record(_ failure: QUpstreamFailure, account: String) {
        runtime.metrics.recordUpstreamError(failure.kind)
        recorder?.update { $0.upstreamError = failure.kind.rawValue }
        let kind: AccountPool.FailureKind
        switch failure.kind {
        case .throttled, .overloaded: kind = .throttled(retryAfter: failure.retryAfter.map { .seconds($0) })
        case .suspended: kind = .suspended
        case .quotaExhausted: kind = .quotaExhausted
        case .authExpired: kind = .other
        case .transient, .contextTooLong, .invalidModel, .badRequest:
            // Not the account's fault: a network error or an overloaded upstream, or a request the client got
            // wrong. Counting them toward auto-disable would take healthy accounts out of service (a burst of
            // connection resets, or one client sending too-long prompts, disabled them all).
            runtime.pool.checkin(account, outcome: .cancelled)
            runtime.persistence?.recordRequest(account: account, succeeded: false)
            return
        }
        runtime.pool.checkin(account, outcome: .failure(kind, message: failure.description))
        runtime.persistence?.recordRequest(account: account, succeeded: false)
    }

    func clientError(for failure: QUpstreamFailure) -> ProxyFailure {
        if failure.kind == .contextTooLong {
            // The exact wording Claude Code compacts on.
            return .invalidRequest(
                "prompt is too long: \(max(plan.inputTokens, settings.maxInputTokens + 1)) tokens > \(settings.maxInputTokens) maximum")
        }
        return ProxyFailure(upstream: failure)
    }
}
