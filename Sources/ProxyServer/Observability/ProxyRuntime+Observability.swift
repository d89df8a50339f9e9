import Accounts
import Logging
import ProxyConfig

extension ServerSettings {
    /// The `model` label of a request: the client's name when the config knows it (an available id,
    /// an alias, or either with `-thinking`), else `other`, so clients cannot grow the series.
    package func metricModel(_ clientName: String) -> String {
        let name = clientName.lowercased()
        if modelNames.contains(name) { return ProxyMetrics.labelValue(name) }
        if name.hasSuffix("-thinking"), modelNames.contains(String(name.dropLast("-thinking".count))) { return ProxyMetrics.labelValue(name) }
        return "other"
    }
}

extension ProxyRuntime {
    /// `usable/total accounts usable`, for systemd's `STATUS=`.
    package var statusLine: String {
        let accounts = pool.snapshot()
        return "serving; \(pool.usableCount) of \(accounts.count) accounts usable; config generation \(settings.configGeneration)"
    }

    /// Sends `READY=1` (with `STATUS=`) once every listener of the starting config is bound; a
    /// listener that fails to bind means no `READY=1`, so systemd reports the start as failed.
    func announceReady(listeners: [ServerSettings.Listener], supervisor: ListenerSupervisor) async {
        for listener in listeners {
            if let failure = await supervisor.waitUntilBound(listener, timeout: .seconds(300)) {
                logger.error("not ready: a listener did not start", metadata: ["error": "\(failure)"])
                notifier.status("listener \(listener.host):\(listener.port) did not start")
                return
            }
        }
        notifier.ready(status: statusLine)
    }

    /// `RELOADING=1` (with `MONOTONIC_USEC`), before a reload is applied.
    package func announceReloading() {
        notifier.reloading()
    }

    /// `READY=1` with a fresh `STATUS=`, after a reload (applied or rejected).
    package func announceReloaded() {
        notifier.ready(status: statusLine)
    }

    /// Brings the scrape-time metrics up to date: account state gauges from the pool's snapshot,
    /// the config generation, and the reload counters from ``reloadStatus``.
    package func refreshScrapeMetrics() {
        let accounts = pool.snapshot().map { (id: $0.id, state: $0.health.name, inFlight: $0.inFlight) }
        metrics.updateAccounts(accounts, usable: pool.usableCount)
        metrics.setConfigGeneration(settings.configGeneration)
        if let config {
            metrics.setShard(index: config.shard.index, count: config.shard.count, configuredAccounts: config.accounts.count)
        }
        let reload = reloadStatus
        metrics.syncReloads(
            succeeded: reload.reloads, failed: reload.failures, lastSuccessUnixTime: reload.lastSuccessUnixTime,
            lastAttemptFailed: reload.lastError != nil)
    }
}
