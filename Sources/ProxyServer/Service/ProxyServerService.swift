import Accounts
import Foundation
import Logging
import ProxyConfig
import ServiceLifecycle
import Synchronization
import Translation
import UnixSignals
import Upstream
import Usage

/// The whole server as one `Service`: it builds the runtime (upstream clients, account pool, state directory) and
/// runs the parts as services of its own `ServiceGroup`: the background loops, the listeners and the reload loop.
/// Run it in a `ServiceGroup` with SIGTERM/SIGINT as graceful-shutdown signals: reloads stop, listeners stop
/// accepting, in-flight streams drain, then the loops end and the state is flushed.
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
            settings: .init(
                connectTimeout: config.upstream.connectTimeout, readTimeout: config.upstream.readTimeout, proxy: config.upstream.proxy?.absoluteString
            ))
        let persistence = AccountStatePersistence(
            store: AccountStateStore(directory: config.stateDirectory, logger: logger), logger: logger)
        let usage = UsageLedger(stateDirectory: config.stateDirectory, shard: config.shard, logger: logger)
        let runtime = makeRuntime(clients: clients, persistence: persistence, usage: usage)
        // A restart does not give a key a fresh day: its tokens_per_day count starts from the usage files.
        runtime.keyLimiter.seed(tokensToday: usage.tokensToday())
        let supervisor = ListenerSupervisor(
            runtime: runtime, gracePeriod: reloadOptions.listenerGracePeriod, drainTimeout: reloadOptions.drainTimeout, logger: logger,
            onBound: onBound)
        let reloader = ConfigReloadEngine(
            runtime: runtime, supervisor: supervisor, environment: reloadOptions.environment, settle: reloadOptions.settle, logger: logger)
        let flushInterval = reloadOptions.statsFlushInterval
        // A graceful shutdown stops the services in reverse order: reloads first, then the listeners (which drain the
        // open replies), then the background loops.
        let services: [any Service] = [
            BackgroundLoop("state flushes") { await persistence.runFlushLoop(every: flushInterval) },
            BackgroundLoop("usage flushes") { await usage.runFlushLoop(every: flushInterval) },
            BackgroundLoop("token refresh") { await runtime.pool.runRefreshLoop() },
            BackgroundLoop("model discovery") { await ModelDiscovery(runtime: runtime).run() },
            supervisor,
            ReloadService(runtime: runtime, reloader: reloader, options: reloadOptions, stateStore: persistence.store, logger: logger),
        ]
        let group = ServiceGroup(
            configuration: .init(services: services.map { .init(service: $0) }, gracefulShutdownSignals: [], cancellationSignals: [], logger: logger))
        var failure: (any Error)?
        do {
            try await group.run()
        } catch {
            failure = error
        }
        // However the group ended: no device login outlives the server, the counters reach the disk, the connection
        // pools close.
        runtime.deviceLogins?.cancelAll()
        persistence.flush(durable: true)
        usage.flushLogging(durable: true)
        await clients.shutdown()
        if let failure { throw failure }
    }

    /// The runtime every request shares: the account pool (restored from the state directory), the upstream clients,
    /// the reply archive and the settings made from the config.
    private func makeRuntime(clients: UpstreamClients, persistence: AccountStatePersistence, usage: UsageLedger) -> ProxyRuntime {
        // Each account kind refreshes with its own client (AccountTokenRefresher): OIDC CreateToken or Kiro's auth service,
        // the latter naming the Kiro version of the template's kiro_headers (as loaded at start).
        let refresher: TokenRefresher = metrics.instrumented(
            AccountTokenRefresher.make(upstream: config.upstream, clients: clients, kiroVersion: template.kiroVersion, logger: logger))
        let pool = AccountPool(
            accounts: [], configuration: PoolConfiguration(config), refresher: refresher,
            onTokenRefreshed: { account, token in try persistence.tokenRefreshed(account, token) },
            onStatusChanged: { id, status in persistence.statusChanged(id, status) },
            logger: logger)
        AccountStatePersistence.apply(persistence.roster(for: config), to: pool, configuration: nil, restoring: { _ in true })
        let runtime = ProxyRuntime(
            settings: ServerSettings(config: config, template: template, generation: 1), pool: pool, qClient: AmazonQClient(http: clients.shared),
            logger: logger, metrics: metrics, notifier: notifier, upstreamClients: clients, persistence: persistence, tokenRefresher: refresher,
            deviceLogins: DeviceLogins(oidc: OIDCClient(http: clients.shared), logger: logger),
            replyArchive: FileReplyArchive(
                root: config.stateDirectory + "/responses", shard: config.shard.count > 1 ? config.shard.index : nil, limits: config.responses,
                logger: logger),
            config: config, usage: usage)
        runtime.recordReload { $0.lastSuccessUnixTime = Date().timeIntervalSince1970 }
        return runtime
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

extension ProxyServerService: CustomStringConvertible {
    /// ServiceLifecycle logs each service at debug as it starts; the default description would print the whole
    /// config and the process environment, which may hold secrets (`${VAR}` values).
    package var description: String { "ProxyServerService" }
}
