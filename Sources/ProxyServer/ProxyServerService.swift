import Accounts
import Foundation
import Logging
import ProxyConfig
import ServiceLifecycle
import Synchronization
import Translation
import UnixSignals
import Upstream

/// The whole server as one `Service`: the upstream client, the account pool, one HTTP
/// application per listener, and the reload loop (SIGHUP, config file changes, requests).
/// Run it in a `ServiceGroup` with SIGTERM/SIGINT as graceful-shutdown signals: listeners then
/// stop accepting and in-flight streams drain.
package struct ProxyServerService: Service {
    let config: ProxyConfig
    let template: RequestTemplate
    let logger: Logger
    let reloadOptions: ReloadOptions
    let onBound: @Sendable (ServerSettings.Listener, Int) async -> Void
    /// Observability: set by `serve` (the process registry, `NOTIFY_SOCKET`); tests keep the defaults.
    package var metrics = ProxyMetrics()
    package var notifier = SystemdNotifier(socketPath: nil)

    package init(
        config: ProxyConfig, template: RequestTemplate, logger: Logger, reload: ReloadOptions = ReloadOptions(),
        onBound: @escaping @Sendable (ServerSettings.Listener, Int) async -> Void = { _, _ in }
    ) {
        self.config = config
        self.template = template
        self.logger = logger
        self.reloadOptions = reload
        self.onBound = onBound
    }

    package func run() async throws {
        let clients = try UpstreamClients(
            settings: .init(connectTimeout: config.upstream.connectTimeout, readTimeout: config.upstream.readTimeout, proxy: config.upstream.proxy?.absoluteString))
        let oidcEndpoint = config.upstream.oidcEndpoint.absoluteString
        let refreshLogger = logger
        let persistence = AccountStatePersistence(
            store: AccountStateStore(directory: config.stateDirectory, logger: logger), logger: logger)
        let refresher: TokenRefresher = metrics.instrumented { credentials throws(TokenRefreshError) in
                do {
                    let oidc = OIDCClient(http: try clients.client(proxy: credentials.proxy))
                    let grant = try await oidc.refresh(
                        endpoint: oidcEndpoint, clientID: credentials.clientID, clientSecret: credentials.clientSecret,
                        refreshToken: credentials.refreshToken, logger: refreshLogger)
                    return RefreshedToken(accessToken: grant.accessToken, expiresIn: .seconds(grant.expiresIn), refreshToken: grant.refreshToken)
                } catch let error as OIDCError {
                    throw TokenRefreshError(
                        isPermanent: error.kind == .invalidGrant || error.kind == .invalidClient, message: error.description)
                } catch let error as UpstreamConfigurationError {
                    throw TokenRefreshError(isPermanent: false, message: "the account's proxy: \(error.message)")
                } catch {
                    throw TokenRefreshError(isPermanent: false, message: "token refresh failed")
                }
            }
        let pool = AccountPool(
            accounts: [], configuration: PoolConfiguration(config), refresher: refresher,
            onTokenRefreshed: { account, token in try persistence.tokenRefreshed(account, token) },
            onStatusChanged: { id, status in persistence.statusChanged(id, status) },
            logger: logger)
        AccountStatePersistence.apply(persistence.roster(for: config), to: pool, configuration: nil, restoring: { _ in true })
        let settings = ServerSettings(config: config, template: template, generation: 1)
        let runtime = ProxyRuntime(
            settings: settings, pool: pool, qClient: AmazonQClient(http: clients.shared), logger: logger, metrics: metrics, notifier: notifier,
            upstreamClients: clients, persistence: persistence, tokenRefresher: refresher,
            deviceLogins: DeviceLogins(oidc: OIDCClient(http: clients.shared), logger: logger),
            replyArchive: FileReplyArchive(
                root: config.stateDirectory + "/responses", shard: config.shard.count > 1 ? config.shard.index : nil, limits: config.responses,
                logger: logger))
        runtime.setConfig(config)
        runtime.recordReload { $0.lastSuccessUnixTime = Date().timeIntervalSince1970 }
        let supervisor = ListenerSupervisor(runtime: runtime, gracePeriod: reloadOptions.listenerGracePeriod, logger: logger, onBound: onBound)
        let reloader = ConfigReloadEngine(
            runtime: runtime, supervisor: supervisor, config: config, template: template, environment: reloadOptions.environment,
            settle: reloadOptions.settle, logger: logger)
        let retry = ReloadRetry()
        // Past the drain time of a shutdown, the replies still open end with the dialect's error event.
        var drainDeadline: Task<Void, Never>?
        defer { drainDeadline?.cancel() }
        do {
            try await withThrowingDiscardingTaskGroup { listeners in
                for listener in settings.listeners { supervisor.start(listener, in: &listeners) }
                listeners.addTask { await runtime.announceReady(listeners: settings.listeners, supervisor: supervisor) }
                let (requests, continuation) = AsyncStream<ReloadRequest>.makeStream()
                runtime.setReloadRequester { request in
                    if case .terminated = continuation.yield(request) { request.reply?(nil) }
                }
                await withGracefulShutdownHandler {
                    await withDiscardingTaskGroup { background in
                        if reloadOptions.reloadOnSignal {
                            background.addTask {
                                for await _ in await UnixSignalsSequence(trapping: .sighup) { continuation.yield(ReloadRequest(trigger: .signal)) }
                            }
                        }
                        if let interval = reloadOptions.pollInterval {
                            let watcher = ConfigFileWatcher(path: config.sourcePath, interval: interval)
                            background.addTask { await watcher.run { continuation.yield(ReloadRequest(trigger: .fileChanged)) } }
                            let stateWatcher = StateDirectoryWatcher(store: persistence.store, interval: interval)
                            background.addTask {
                                for await change in stateWatcher.changes() {
                                    logger.info("state file \(change)")
                                    continuation.yield(ReloadRequest(trigger: .stateDirectory))
                                }
                            }
                        }
                        background.addTask { await pool.runRefreshLoop() }
                        background.addTask { await ModelDiscovery(runtime: runtime).run() }
                        background.addTask { await persistence.runFlushLoop(every: reloadOptions.statsFlushInterval) }
                        for await request in requests {
                            runtime.announceReloading()
                            let outcome = await reloader.reload(trigger: request.trigger, requestedAt: request.requestedAt, listeners: &listeners)
                            runtime.announceReloaded()
                            request.reply?(outcome)
                            if case .unsettled = outcome, retry.schedule() {
                                // The file kept changing: try again later (once), whatever triggered this one.
                                let delay = reloadOptions.settle ?? reloader.config.reload.settle
                                background.addTask {
                                    try? await Task.sleep(for: max(delay, .milliseconds(100)) * 2)
                                    retry.done()
                                    continuation.yield(ReloadRequest(trigger: .fileChanged))
                                }
                            }
                        }
                        background.cancelAll()
                    }
                } onGracefulShutdown: {
                    continuation.finish()
                }
                runtime.setReloadRequester(nil)
                let drainTime = reloadOptions.drainTimeout
                drainDeadline = Task {
                    try? await Task.sleep(for: drainTime)
                    guard !Task.isCancelled else { return }
                    let open = runtime.openReplies.interruptAll(.overloaded("the server is shutting down; retry the request"))
                    if open > 0 { logger.notice("drain time is up; open replies end with an error", metadata: ["replies": "\(open)"]) }
                }
                await supervisor.stopAll()
            }
        } catch {
            persistence.flush(durable: true)
            await clients.shutdown()
            throw error
        }
        runtime.deviceLogins?.cancelAll()
        persistence.flush(durable: true)
        await clients.shutdown()
    }
}

/// How the server reloads its config; the CLI uses the defaults, tests shorten them.
package struct ReloadOptions: Sendable {
    /// Reload on SIGHUP. Only one owner of SIGHUP may exist in a process, so tests turn it off.
    package var reloadOnSignal = true
    /// How often the YAML file's content is compared; nil turns polling off.
    package var pollInterval: Duration? = .seconds(2)
    /// How far apart two reads of the file must agree before a reload applies it; `nil` takes `reload.settle`
    /// from the config in force (1s by default). Tests shorten it.
    package var settle: Duration? = nil
    /// How long streams on a removed listener may run before they are cut.
    package var listenerGracePeriod: Duration = .seconds(60)
    /// How long open replies may run after a shutdown begins (SIGTERM); then each ends with the dialect's error
    /// (Claude `event: error` `overloaded_error`, an OpenAI error chunk). `serve` lets the process go shortly after.
    package var drainTimeout: Duration = .seconds(30)
    /// The environment `${VAR}` references read on reload.
    package var environment: [String: String] = ProcessInfo.processInfo.environment
    /// How often request counters are appended to the state files.
    package var statsFlushInterval: Duration = .seconds(10)

    package init() {}
}

/// At most one pending retry of a reload that found the file still changing.
final class ReloadRetry: Sendable {
    private let pending = Mutex(false)

    /// Whether a retry should be scheduled now (none is pending).
    func schedule() -> Bool {
        pending.withLock { pending in
            defer { pending = true }
            return !pending
        }
    }

    func done() {
        pending.withLock { $0 = false }
    }
}

extension ProxyServerService: CustomStringConvertible {
    /// ServiceLifecycle logs each service at debug as it starts; the default description would print the whole
    /// config and the process environment, which may hold secrets (`${VAR}` values).
    package var description: String { "ProxyServerService" }
}
