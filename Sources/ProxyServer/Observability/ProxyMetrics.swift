import Accounts
import CoreMetrics
import Metrics
import Prometheus
import ProxyModels
import Synchronization

/// The server's metrics, recorded through the swift-metrics API into a Prometheus registry this
/// object owns (so tests and several servers in one process never share counters), and rendered
/// by `GET /metrics`.
///
/// Every name starts with `q2api_`. Label values are bounded and never carry a secret: endpoints
/// are known routes or `other`, models are configured names or `other`, account ids are the
/// operator's ids (an id that looks like an e-mail address is replaced by a stable hash).
package final class ProxyMetrics: Sendable {
    package let registry: PrometheusCollectorRegistry
    package let factory: PrometheusMetricsFactory
    package let version: String
    /// The account-state gauges currently registered, by (account, state), so removed accounts disappear.
    private let accountSeries: Mutex<Set<AccountSeries>> = Mutex([])
    /// Reload counts already added to the counters.
    private let reloadCounts: Mutex<(succeeded: Int, failed: Int)> = Mutex((0, 0))
    private let scrapeLock = Mutex(())

    /// Upper bounds of the request-duration and time-to-first-token histograms. LLM replies are slow:
    /// a long stream takes minutes, a first token a few seconds.
    package static let latencyBuckets: [Duration] = [
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5),
        .seconds(10), .seconds(20), .seconds(30), .seconds(60), .seconds(120), .seconds(300), .seconds(600),
    ]

    package static let accountStates = ["active", "cooling", "quota_exhausted", "suspended", "refresh_failed", "disabled"]

    package init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(), version: String = BuildInfo.version) {
        self.registry = registry
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = Self.latencyBuckets
        self.factory = factory
        self.version = version
        Gauge(label: "q2api_build_info", dimensions: [("version", Self.labelValue(version))], factory: factory).record(1)
        Meter(label: "q2api_streams_in_flight", factory: factory).set(0)
        Gauge(label: "q2api_config_last_reload_success_timestamp_seconds", factory: factory).record(0)
        Gauge(label: "q2api_config_last_reload_successful", factory: factory).record(1)
    }

    /// Makes this registry the process-wide swift-metrics backend too, so metrics recorded by other
    /// targets through `MetricsSystem` appear on `/metrics`. Once per process (the server binary only).
    package func bootstrapGlobal() {
        MetricsSystem.bootstrap(factory)
    }

    /// The Prometheus text exposition of every metric.
    package func render() -> [UInt8] {
        registry.emitToBuffer()
    }

    // MARK: - Requests

    /// One finished request: the counter by endpoint, model and status class, and the duration histogram.
    package func recordRequest(endpoint: String, model: String?, status: Int, duration: Duration) {
        let endpoint = Self.endpointLabel(endpoint)
        Counter(
            label: "q2api_requests_total",
            dimensions: [("endpoint", endpoint), ("model", model ?? "none"), ("status", Self.statusClass(status))], factory: factory
        ).increment()
        CoreMetrics.Timer(label: "q2api_request_duration_seconds", dimensions: [("endpoint", endpoint)], factory: factory)
            .recordNanoseconds(Self.nanoseconds(duration))
    }

    /// Time from the request's arrival to the first reply event written to a streaming client.
    package func recordTimeToFirstToken(endpoint: String, _ duration: Duration) {
        CoreMetrics.Timer(label: "q2api_time_to_first_token_seconds", dimensions: [("endpoint", Self.endpointLabel(endpoint))], factory: factory)
            .recordNanoseconds(Self.nanoseconds(duration))
    }

    /// Token usage of a finished reply (`model` already capped, see ``ServerSettings/metricModel(_:)``).
    package func recordTokens(model: String, input: Int, output: Int) {
        if input > 0 { Counter(label: "q2api_input_tokens_total", dimensions: [("model", model)], factory: factory).increment(by: input) }
        if output > 0 { Counter(label: "q2api_output_tokens_total", dimensions: [("model", model)], factory: factory).increment(by: output) }
    }

    /// A request refused by its API key: `limit` is `requests_per_minute`, `concurrent_streams`, `tokens_per_day`,
    /// `models` or `disabled`; `key` is a name from the YAML, so the series are bounded by it.
    package func recordKeyLimitRejection(key: String, limit: String) {
        Counter(label: "q2api_key_limit_rejections_total", dimensions: [("key", key), ("limit", limit)], factory: factory).increment()
    }

    /// One finished request of an API key (`key` is a name from the YAML, `anonymous` or `admin`, so the series are
    /// bounded by it): `q2api_key_requests_total{key,result}`, where a key-limit refusal is a `failure` too (its
    /// limit is in `q2api_key_limit_rejections_total`), and the key's token counters.
    package func recordKeyRequest(key: String, success: Bool, inputTokens: Int, outputTokens: Int) {
        Counter(label: "q2api_key_requests_total", dimensions: [("key", key), ("result", success ? "success" : "failure")], factory: factory)
            .increment()
        Counter(label: "q2api_key_input_tokens_total", dimensions: [("key", key)], factory: factory).increment(by: max(0, inputTokens))
        Counter(label: "q2api_key_output_tokens_total", dimensions: [("key", key)], factory: factory).increment(by: max(0, outputTokens))
    }

    package func streamStarted() {
        Meter(label: "q2api_streams_in_flight", factory: factory).increment()
    }

    package func streamFinished() {
        Meter(label: "q2api_streams_in_flight", factory: factory).decrement()
    }

    // MARK: - Upstream and accounts

    /// An upstream failure, by its classification (`throttled`, `suspended`, `quota_exhausted`, …).
    package func recordUpstreamError(_ kind: QUpstreamFailure.Kind) {
        Counter(label: "q2api_upstream_errors_total", dimensions: [("reason", kind.rawValue)], factory: factory).increment()
    }

    /// The result of one OIDC token refresh.
    package func recordTokenRefresh(success: Bool) {
        Counter(label: "q2api_token_refreshes_total", dimensions: [("result", success ? "success" : "failure")], factory: factory).increment()
    }

    /// Wraps a refresher so every refresh it performs is counted.
    package func instrumented(_ refresher: @escaping TokenRefresher) -> TokenRefresher {
        { [self] credentials throws(TokenRefreshError) in
            do throws(TokenRefreshError) {
                let token = try await refresher(credentials)
                recordTokenRefresh(success: true)
                return token
            } catch {
                recordTokenRefresh(success: false)
                throw error
            }
        }
    }

    /// `q2api_shard_index`, `q2api_shard_count` and `q2api_accounts_configured` (every account in the YAML,
    /// whichever instance owns it; `q2api_accounts_total` counts the ones this instance serves), so a
    /// dashboard over several instances can check that the shards cover the accounts exactly once.
    package func setShard(index: Int, count: Int, configuredAccounts: Int) {
        Gauge(label: "q2api_shard_index", factory: factory).record(index)
        Gauge(label: "q2api_shard_count", factory: factory).record(count)
        Gauge(label: "q2api_accounts_configured", factory: factory).record(configuredAccounts)
    }

    /// Sets `q2api_account_state{account,state}` (1 for the account's state, 0 for the others),
    /// `q2api_account_in_flight{account}` and `q2api_accounts_usable`; accounts gone since the
    /// last call lose their series. Called at scrape time.
    package func updateAccounts(_ accounts: [(id: String, state: String, inFlight: Int)], usable: Int) {
        var wanted = Set<AccountSeries>()
        for account in accounts {
            let id = Self.accountLabel(account.id)
            var states = Self.accountStates
            if !states.contains(account.state) { states.append(account.state) }
            for state in states {
                wanted.insert(AccountSeries(account: id, state: state))
                Gauge(label: "q2api_account_state", dimensions: [("account", id), ("state", state)], factory: factory)
                    .record(state == account.state ? 1 : 0)
            }
            wanted.insert(AccountSeries(account: id, state: nil))
            Gauge(label: "q2api_account_in_flight", dimensions: [("account", id)], factory: factory).record(account.inFlight)
        }
        Gauge(label: "q2api_accounts_usable", factory: factory).record(usable)
        Gauge(label: "q2api_accounts_total", factory: factory).record(accounts.count)
        let stale = accountSeries.withLock { series in
            let stale = series.subtracting(wanted)
            series = wanted
            return stale
        }
        for series in stale {
            if let state = series.state {
                registry.unregisterGauge(
                    registry.makeGauge(name: "q2api_account_state", labels: [("account", series.account), ("state", state)], help: ""))
            } else {
                registry.unregisterGauge(registry.makeGauge(name: "q2api_account_in_flight", labels: [("account", series.account)], help: ""))
            }
        }
    }

    // MARK: - Config

    /// Brings the reload metrics in line with the runtime's reload record (the single source of
    /// truth the reload engine updates): `q2api_config_reloads_total{result}` grows by what happened
    /// since the last call, `q2api_config_last_reload_success_timestamp_seconds` and
    /// `q2api_config_last_reload_successful` (0 while the newest attempt was rejected) follow it.
    package func syncReloads(succeeded: Int, failed: Int, lastSuccessUnixTime: Double?, lastAttemptFailed: Bool) {
        let (newSuccesses, newFailures) = reloadCounts.withLock { seen in
            let delta = (max(0, succeeded - seen.succeeded), max(0, failed - seen.failed))
            seen = (max(seen.succeeded, succeeded), max(seen.failed, failed))
            return delta
        }
        let counter = { (result: String) in Counter(label: "q2api_config_reloads_total", dimensions: [("result", result)], factory: self.factory) }
        // Both series exist from the first scrape, so rate() works from the start.
        counter("success").increment(by: newSuccesses)
        counter("failure").increment(by: newFailures)
        Gauge(label: "q2api_config_last_reload_successful", factory: factory).record(lastAttemptFailed ? 0 : 1)
        if let lastSuccessUnixTime {
            Gauge(label: "q2api_config_last_reload_success_timestamp_seconds", factory: factory).record(lastSuccessUnixTime)
        }
    }

    /// Runs `refresh` and renders, one scrape at a time (scrape-time gauges are set, then read).
    package func scrape(_ refresh: () -> Void) -> [UInt8] {
        scrapeLock.withLock { _ in
            refresh()
            return registry.emitToBuffer()
        }
    }

    package func setConfigGeneration(_ generation: Int) {
        Gauge(label: "q2api_config_generation", factory: factory).record(generation)
    }

    // MARK: - Labels

    /// Known routes keep their path; anything else is `other`, so scanners cannot grow the series.
    package static func endpointLabel(_ path: String) -> String {
        switch path {
        case "/v1/messages", "/v1/messages/count_tokens", "/v1/chat/completions", "/v1/responses", "/v1/models", "/healthz", "/health", "/readyz",
            "/metrics":
            return path
        default:
            if path.hasPrefix("/v1/models/") { return "/v1/models/{id}" }
            if path.hasPrefix("/v1/responses/") { return path.hasSuffix("/input_items") ? "/v1/responses/{id}/input_items" : "/v1/responses/{id}" }
            return "other"
        }
    }

    package static func statusClass(_ status: Int) -> String {
        switch status {
        case 100..<200: "1xx"
        case 200..<300: "2xx"
        case 300..<400: "3xx"
        case 400..<500: "4xx"
        default: "5xx"
        }
    }

    /// An account id fit for a label: an id that looks like an e-mail address becomes `acct-<hash>`.
    package static func accountLabel(_ id: String) -> String {
        guard id.contains("@") else { return labelValue(id) }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in id.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return "acct-" + String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// Printable, bounded, no quotes or line breaks.
    static func labelValue(_ value: String) -> String {
        String(String.UnicodeScalarView(value.unicodeScalars.filter { $0.value >= 0x20 && $0 != "\"" && $0 != "\\" && $0.value != 0x7F }).prefix(128))
    }

    static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }

    struct AccountSeries: Hashable {
        var account: String
        /// nil: the in-flight gauge.
        var state: String?
    }
}

/// What `q2api_build_info` reports.
package enum BuildInfo {
    package static let version = "0.1.0"
}
