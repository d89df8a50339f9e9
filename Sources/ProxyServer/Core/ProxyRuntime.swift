import Accounts
import Logging
import ProxyConfig
import Synchronization
import Translation
import Upstream
import Usage

/// The long-lived parts every request shares: the settings snapshot, the account pool and the
/// upstream clients.
package final class ProxyRuntime: Sendable {
    /// The config in force and the settings made from it: one value, replaced at once by a reload.
    private let current: Mutex<ConfigSnapshot>
    private let reload = Mutex(ReloadStatus())
    private let reloadRequester = Mutex<(@Sendable (ReloadRequest) -> Void)?>(nil)
    package let pool: AccountPool
    package let qClient: AmazonQClient
    /// Per-account proxies; `nil` in tests that build a runtime by hand (every account then uses `qClient`).
    package let upstreamClients: UpstreamClients?
    /// The state directory (tokens, statuses, counters); `nil` in tests that build a runtime by hand.
    package let persistence: AccountStatePersistence?
    /// The OIDC refresh the pool uses, for validating credentials given to the admin API.
    package let tokenRefresher: TokenRefresher?
    /// Device logins started over HTTP (`/v2/auth/...`).
    package let deviceLogins: DeviceLogins?
    private let loggedOnce = Mutex(Set<String>())
    package let logger: Logger
    /// Prometheus metrics (`/metrics`) and systemd notifications (a no-op outside systemd).
    package let metrics: ProxyMetrics
    package let notifier: SystemdNotifier
    /// The models the accounts reported (`ListAvailableModels`); see ``ModelDiscovery``.
    package let modelCatalog = ModelCatalog()
    /// What to cancel when a client hangs up, by connection (filled by streams, run by each connection's handler).
    package let hangups = ConnectionHangups()
    /// The replies being written, for a shutdown that must end them with an error event.
    package let openReplies = OpenReplies()
    /// Replies kept beyond their request (OpenAI Responses `store`), in the state directory when there is one.
    package let replyArchive: any ReplyArchive
    /// The counters behind `api_keys[].limits`, by key name; they outlive reloads (see ``KeyLimiter``).
    package let keyLimiter = KeyLimiter()
    /// Usage per key, account and model by hour (`state_dir/usage/`), fed as each request finishes.
    package let usage: UsageLedger

    package init(
        settings: ServerSettings, pool: AccountPool, qClient: AmazonQClient, logger: Logger, metrics: ProxyMetrics = ProxyMetrics(),
        notifier: SystemdNotifier = SystemdNotifier(socketPath: nil), upstreamClients: UpstreamClients? = nil,
        persistence: AccountStatePersistence? = nil, tokenRefresher: TokenRefresher? = nil, deviceLogins: DeviceLogins? = nil,
        replyArchive: (any ReplyArchive)? = nil, config: ProxyConfig? = nil, usage: UsageLedger? = nil
    ) {
        self.usage = usage ?? UsageLedger(stateDirectory: nil)
        self.replyArchive = replyArchive ?? MemoryReplyArchive()
        self.tokenRefresher = tokenRefresher
        self.deviceLogins = deviceLogins
        self.upstreamClients = upstreamClients
        self.persistence = persistence
        self.current = Mutex(ConfigSnapshot(settings: settings, config: config))
        self.pool = pool
        self.qClient = qClient
        self.logger = logger
        self.metrics = metrics
        self.notifier = notifier
    }

    /// Logs `message` at debug level the first time `key` is seen in this process (accepted-and-ignored
    /// request fields: worth knowing once, noise on every request).
    package func debugOnce(_ key: String, _ message: @autoclosure () -> Logger.Message) {
        guard loggedOnce.withLock({ $0.count < 1_000 && $0.insert(key).inserted }) else { return }
        logger.debug(message())
    }

    /// Maps a client's model name with the settings in force and the models the accounts reported.
    package func resolveModel(_ name: String, settings: ServerSettings) -> ServerSettings.ModelChoice? {
        settings.resolveModel(name, modelCatalog.discovered)
    }

    /// The models `/v1/models` lists: the configured ones, then the ones only discovery found.
    package func servedModels(settings: ServerSettings) -> [String] {
        guard settings.modelDiscovery else { return settings.models }
        let configured = Set(settings.models.map { $0.lowercased() })
        return settings.models + modelCatalog.discovered.filter { !configured.contains($0.lowercased()) }
    }

    /// The config and settings in force now, read together.
    package var snapshot: ConfigSnapshot { current.withLock { $0 } }

    /// The settings in force now; a request reads this once and keeps its copy.
    package var settings: ServerSettings { snapshot.settings }

    /// The validated config in force (the admin API shows it redacted); `nil` in hand-built runtimes.
    package var config: ProxyConfig? { snapshot.config }

    /// Puts a reloaded config in force: requests that start from now on see the new settings and config together.
    func install(_ snapshot: ConfigSnapshot) {
        current.withLock { $0 = snapshot }
        // The keys a reload removed are forgotten; those that stay keep their counters.
        keyLimiter.keep(only: Set(snapshot.settings.apiKeys.map(\.name)))
        if let archive = replyArchive as? FileReplyArchive, let limits = snapshot.config?.responses {
            Task { await archive.configure(limits) }
        }
    }

    /// The outcome of the last reload, for `/healthz` and metrics.
    package var reloadStatus: ReloadStatus { reload.withLock { $0 } }

    package func recordReload(_ update: (inout ReloadStatus) -> Void) {
        reload.withLock { update(&$0) }
    }

    /// Asks the running server to reload its config, as SIGHUP does, without waiting.
    package func requestReload() {
        reloadRequester.withLock { $0 }?(ReloadRequest(trigger: .request, reply: nil))
    }

    /// Reloads the config as SIGHUP does and returns what happened (`POST /v2/reload`); `nil` when
    /// the server is shutting down.
    package func reloadNow(trigger: ReloadTrigger = .request) async -> ReloadOutcome? {
        guard let requester = reloadRequester.withLock({ $0 }) else { return nil }
        return await withCheckedContinuation { (continuation: CheckedContinuation<ReloadOutcome?, Never>) in
            let once = Mutex(false)
            let finish: @Sendable (ReloadOutcome?) -> Void = { outcome in
                let first = once.withLock { done in
                    defer { done = true }
                    return !done
                }
                if first { continuation.resume(returning: outcome) }
            }
            requester(ReloadRequest(trigger: trigger, reply: finish))
        }
    }

    func setReloadRequester(_ requester: (@Sendable (ReloadRequest) -> Void)?) {
        reloadRequester.withLock { $0 = requester }
    }

    /// The Amazon Q client for an account: through its own proxy when it has one.
    package func qClient(for account: AccountCredentials) throws(UpstreamConfigurationError) -> AmazonQClient {
        guard let upstreamClients, account.proxy != nil else { return qClient }
        return AmazonQClient(http: try upstreamClients.client(proxy: account.proxy))
    }
}

/// What `/healthz` reports about reloads.
package struct ReloadStatus: Sendable, Equatable {
    /// The error of the last failed reload attempt, cleared by the next successful one.
    package var lastError: String?
    package var lastErrorAt: ContinuousClock.Instant?
    /// Wall-clock seconds since 1970 of the last successful reload (or of startup).
    package var lastSuccessUnixTime: Double?
    package var reloads = 0
    package var failures = 0

    package init() {}
}

/// The config in force and the settings derived from it (template, generation, listeners, models…), kept as one
/// value so that no reader sees the settings of one generation with the config of another.
package struct ConfigSnapshot: Sendable {
    package var settings: ServerSettings
    /// `nil` in runtimes built by hand for tests.
    package var config: ProxyConfig?
}
