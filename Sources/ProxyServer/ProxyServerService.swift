import Accounts
import Foundation
import Logging
import ProxyConfig
import ServiceLifecycle
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
        let http = try UpstreamHTTPClient(
            settings: .init(connectTimeout: config.upstream.connectTimeout, readTimeout: config.upstream.readTimeout, proxy: config.upstream.proxy?.absoluteString))
        let oidc = OIDCClient(http: http)
        let oidcEndpoint = config.upstream.oidcEndpoint.absoluteString
        let refreshLogger = logger
        let pool = AccountPool(
            accounts: config.accounts.map(AccountCredentials.init), configuration: PoolConfiguration(config),
            refresher: metrics.instrumented { credentials throws(TokenRefreshError) in
                do {
                    let grant = try await oidc.refresh(
                        endpoint: oidcEndpoint, clientID: credentials.clientID, clientSecret: credentials.clientSecret,
                        refreshToken: credentials.refreshToken, logger: refreshLogger)
                    return RefreshedToken(accessToken: grant.accessToken, expiresIn: .seconds(grant.expiresIn), refreshToken: grant.refreshToken)
                } catch let error as OIDCError {
                    throw TokenRefreshError(
                        isPermanent: error.kind == .invalidGrant || error.kind == .invalidClient, message: error.description)
                } catch {
                    throw TokenRefreshError(isPermanent: false, message: "token refresh failed")
                }
            },
            logger: logger)
        let settings = ServerSettings(config: config, template: template, generation: 1)
        let runtime = ProxyRuntime(settings: settings, pool: pool, qClient: AmazonQClient(http: http), logger: logger, metrics: metrics, notifier: notifier)
        runtime.recordReload { $0.lastSuccessUnixTime = Date().timeIntervalSince1970 }
        let supervisor = ListenerSupervisor(runtime: runtime, gracePeriod: reloadOptions.listenerGracePeriod, logger: logger, onBound: onBound)
        let reloader = ConfigReloadEngine(
            runtime: runtime, supervisor: supervisor, config: config, template: template, environment: reloadOptions.environment, logger: logger)
        do {
            try await withThrowingDiscardingTaskGroup { listeners in
                for listener in settings.listeners { supervisor.start(listener, in: &listeners) }
                listeners.addTask { await runtime.announceReady(listeners: settings.listeners, supervisor: supervisor) }
                let (triggers, continuation) = AsyncStream<ReloadTrigger>.makeStream(bufferingPolicy: .bufferingNewest(1))
                runtime.setReloadRequester { continuation.yield(.request) }
                await withGracefulShutdownHandler {
                    await withDiscardingTaskGroup { producers in
                        if reloadOptions.reloadOnSignal {
                            producers.addTask {
                                for await _ in await UnixSignalsSequence(trapping: .sighup) { continuation.yield(.signal) }
                            }
                        }
                        if let interval = reloadOptions.pollInterval {
                            let watcher = ConfigFileWatcher(path: config.sourcePath, interval: interval, debounce: reloadOptions.debounce)
                            producers.addTask { await watcher.run { continuation.yield(.fileChanged) } }
                        }
                        for await trigger in triggers {
                            runtime.announceReloading()
                            await reloader.reload(trigger: trigger, listeners: &listeners)
                            runtime.announceReloaded()
                        }
                        producers.cancelAll()
                    }
                } onGracefulShutdown: {
                    continuation.finish()
                }
                runtime.setReloadRequester(nil)
                await supervisor.stopAll()
            }
        } catch {
            try? await http.shutdown()
            throw error
        }
        try await http.shutdown()
    }
}

/// How the server reloads its config; the CLI uses the defaults, tests shorten them.
package struct ReloadOptions: Sendable {
    /// Reload on SIGHUP. Only one owner of SIGHUP may exist in a process, so tests turn it off.
    package var reloadOnSignal = true
    /// How often the YAML file's content is compared; nil turns polling off.
    package var pollInterval: Duration? = .seconds(2)
    package var debounce: Duration = .milliseconds(300)
    /// How long streams on a removed listener may run before they are cut.
    package var listenerGracePeriod: Duration = .seconds(60)
    /// The environment `${VAR}` references read on reload.
    package var environment: [String: String] = ProcessInfo.processInfo.environment

    package init() {}
}