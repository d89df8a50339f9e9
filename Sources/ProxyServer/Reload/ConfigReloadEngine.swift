import Accounts
import Foundation
import Logging
import ProxyConfig
import Synchronization
import Translation

/// Applies a reload: validate the whole new config first; when it is invalid, keep serving the
/// old one and report the error; when it is valid, swap the settings atomically (requests in
/// flight keep the snapshot they started with), bring listeners in line (new ones bound before
/// removed ones stop) and update the accounts.
final class ConfigReloadEngine: Sendable {
    private let runtime: ProxyRuntime
    private let supervisor: ListenerSupervisor
    private let environment: [String: String]
    private let settle: Duration?
    private let logger: Logger
    /// The outcome of the last reload that read a settled file, and when that read began.
    private let lastSettled = Mutex<(since: ContinuousClock.Instant, outcome: ReloadOutcome)?>(nil)
    /// The file as the last settled read found it: unchanged since, it needs no second read.
    private let settledSnapshot = Mutex<SettledFile.Snapshot?>(nil)

    /// - Parameter settle: How far apart the two reads of the file must agree; `nil` takes `reload.settle` from
    ///   the config in force.
    /// - Parameter runtime: Holds the config in force (``ProxyRuntime/snapshot``), which a reload replaces.
    init(
        runtime: ProxyRuntime, supervisor: ListenerSupervisor, environment: [String: String],
        settle: Duration? = nil, logger: Logger
    ) {
        precondition(runtime.config != nil, "a reloadable runtime is built from a config")
        self.runtime = runtime
        self.supervisor = supervisor
        self.environment = environment
        self.settle = settle
        self.logger = logger
    }

    /// The config in force.
    var config: ProxyConfig { runtime.snapshot.config! }

    /// Rebuilds the accounts from the config in force and the state directory (a state file changed).
    @discardableResult
    func reloadAccounts() -> ReloadOutcome {
        let config = self.config
        let before = Set(runtime.pool.snapshot().map(\.id))
        applyAccounts(config, configuration: nil)
        let after = Set(runtime.pool.snapshot().map(\.id))
        let added = after.subtracting(before).sorted()
        let removed = before.subtracting(after).sorted()
        var parts: [String] = []
        if !added.isEmpty { parts.append("+\(added.count) account\(added.count == 1 ? "" : "s") (\(added.joined(separator: ", ")))") }
        if !removed.isEmpty { parts.append("-\(removed.count) account\(removed.count == 1 ? "" : "s") (\(removed.joined(separator: ", ")))") }
        let changes = parts.isEmpty ? "accounts refreshed" : parts.joined(separator: ", ")
        logger.info("state directory changed", metadata: ["changes": "\(changes)"])
        return .reloaded(generation: runtime.settings.configGeneration, changes: changes, warnings: [])
    }

    /// Gives the pool the accounts of `config` and the state directory. Accounts new to the pool get
    /// their saved token and status back, as at start-up.
    private func applyAccounts(_ config: ProxyConfig, configuration: PoolConfiguration?) {
        guard let persistence = runtime.persistence else {
            runtime.pool.update(accounts: config.ownedAccounts.map(AccountCredentials.init), configuration: configuration)
            return
        }
        let known = Set(runtime.pool.snapshot().map(\.id))
        let roster = persistence.roster(for: config)
        AccountStatePersistence.apply(roster, to: runtime.pool, configuration: configuration, restoring: { !known.contains($0) })
    }

    /// Reloads the file. A request made before the last settled read began is answered with that reload's
    /// outcome: the file has not changed since then (SIGHUPs and polls queued during a storm collapse into one).
    @discardableResult
    func reload(
        trigger: ReloadTrigger, requestedAt: ContinuousClock.Instant? = nil
    ) async -> ReloadOutcome {
        if trigger == .stateDirectory { return reloadAccounts() }
        if let requestedAt, let last = lastSettled.withLock({ $0 }), requestedAt < last.since {
            return last.outcome
        }
        return await reloadSettled(trigger: trigger)
    }

    private func reloadSettled(trigger: ReloadTrigger) async -> ReloadOutcome {
        let previous = runtime.snapshot
        let previousConfig = previous.config!
        let path = previousConfig.sourcePath

        // Only a file that reads the same twice, `settle` apart, is loaded: never one caught mid-write.
        let reader = SettledFile(path: path, settle: settle ?? previousConfig.reload.settle)
        let (read, since, snapshot) = await reader.readTimed(known: settledSnapshot.withLock { $0 })
        guard case .settled(let content) = read else {
            let message = "\(path): the file kept changing for \(reader.patience); nothing applied, the reload is retried"
            logger.warning(
                "reload postponed; still serving the previous config", metadata: ["trigger": "\(trigger.rawValue)", "reason": "\(message)"])
            return .unsettled(error: message)
        }
        settledSnapshot.withLock { $0 = snapshot }
        let text = content.flatMap { String(data: $0, encoding: .utf8) }
        let loaded: (ProxyConfig, RequestTemplate)
        do {
            let config = try ProxyConfig.load(path: path, environment: environment) { file in
                if file == path, content != nil {
                    guard let text else { throw ConfigFileReadError(reason: "not UTF-8 text") }
                    return text
                }
                return try ProxyConfig.defaultReadFile(file)
            }
            loaded = (config, try config.compiledTemplate())
        } catch {
            let message = error.description
            logger.error("reload rejected; still serving the previous config", metadata: ["trigger": "\(trigger.rawValue)", "error": "\(message)"])
            recordFailure(message)
            return remember(since, .rejected(error: message))
        }
        let (config, template) = loaded
        let diff = ConfigDiff(
            from: previousConfig, to: config,
            templateChanged: template.origin != previous.settings.template.origin || previousConfig.templateSource != config.templateSource)

        let guardRails = ReloadGuardRails.check(from: previousConfig, to: config, writtenKeys: ProxyConfig.writtenKeys(yaml: text ?? ""))
        if !guardRails.isEmpty {
            return remember(since, refuse(path: path, reasons: guardRails, diff: diff, trigger: trigger))
        }

        // Listeners: bind the new ones first; a listener that cannot bind fails the reload's listener
        // part (it is reported) but the rest of the config still applies, unless no listener would be left.
        let oldSettings = previous.settings
        let generation = oldSettings.configGeneration + 1
        let newSettings = ServerSettings(config: config, template: template, generation: generation)
        var listenerErrors: [String] = []
        let before = Set(oldSettings.listeners)
        var after = Set(newSettings.listeners)
        for listener in newSettings.listeners where !before.contains(listener) {
            supervisor.start(listener)
            if let failure = await supervisor.waitUntilBound(listener) {
                listenerErrors.append("listener \(listener.host):\(listener.port): \(failure)")
                supervisor.forget(listener)
                after.remove(listener)
            }
        }
        if after.isEmpty {
            return remember(
                since,
                refuse(
                    path: path, reasons: ["it would leave no listener (\(listenerErrors.joined(separator: "; ")))"], diff: diff, trigger: trigger))
        }
        runtime.install(ConfigSnapshot(settings: newSettings, config: config))
        applyAccounts(config, configuration: PoolConfiguration(config))
        for listener in oldSettings.listeners where !after.contains(listener) {
            await supervisor.stop(listener)
        }

        let wallClock = Date().timeIntervalSince1970
        runtime.recordReload {
            $0.reloads += 1
            $0.lastSuccessUnixTime = wallClock
            if listenerErrors.isEmpty {
                $0.lastError = nil
            } else {
                $0.lastError = listenerErrors.joined(separator: "; ")
                $0.lastErrorAt = .now
            }
        }
        logger.info("config reloaded", metadata: ["trigger": "\(trigger.rawValue)", "generation": "\(generation)", "changes": "\(diff)"])
        for error in listenerErrors { logger.error("reload: listener not started", metadata: ["error": "\(error)"]) }
        return remember(since, .reloaded(generation: generation, changes: diff.description, warnings: listenerErrors))
    }

    /// Notes the outcome of a reload that read a settled file (see ``reload(trigger:requestedAt:)``).
    private func remember(_ since: ContinuousClock.Instant, _ outcome: ReloadOutcome) -> ReloadOutcome {
        lastSettled.withLock { $0 = (since, outcome) }
        return outcome
    }

    /// Keeps the previous config because a guard rail stopped the new one; logged with the diff it would have
    /// applied and shown as the last reload error (`/healthz`, `/v2/config`).
    private func refuse(path: String, reasons: [String], diff: ConfigDiff, trigger: ReloadTrigger) -> ReloadOutcome {
        let message =
            "\(path): reload refused, still serving the previous config: \(reasons.joined(separator: "; ")) (the file would change: \(diff))"
        logger.error(
            "reload refused; still serving the previous config",
            metadata: ["trigger": "\(trigger.rawValue)", "reasons": "\(reasons.joined(separator: "; "))", "changes": "\(diff)"])
        recordFailure(message)
        return .refused(error: message)
    }

    private func recordFailure(_ message: String) {
        runtime.recordReload {
            $0.lastError = message
            $0.lastErrorAt = .now
            $0.failures += 1
        }
    }
}

/// The checks a valid new config must still pass before a reload applies it: an operator's slip (or a file
/// read half-written) must not remove every account, open the API or move the listener by omission.
package enum ReloadGuardRails {
    /// Why `new` must not replace `old`; empty when it may. `writtenKeys` are the top-level keys the new file
    /// writes out with a value (``ProxyConfig/writtenKeys(yaml:)``): `accounts: []` and `api_keys: []` say
    /// "none" on purpose, a missing key does not.
    package static func check(from old: ProxyConfig, to new: ProxyConfig, writtenKeys: Set<String>) -> [String] {
        var reasons: [String] = []
        if !old.accounts.isEmpty, new.accounts.isEmpty, !writtenKeys.contains("accounts") {
            reasons.append(
                "it would remove every account (\(old.accounts.map(\.id).joined(separator: ", "))) although the file does not say so; write accounts: [] to mean it"
            )
        }
        if !old.apiKeys.isEmpty, new.apiKeys.isEmpty, !writtenKeys.contains("api_keys") {
            reasons.append(
                "it would turn off client authentication (the file has no api_keys, the running config has \(old.apiKeys.count)); write api_keys: [] to mean it"
            )
        }
        if !writtenKeys.contains("listeners"), Set(new.listeners) != Set(old.listeners) {
            reasons.append(
                "listeners is missing, which would move the server to \(new.listeners.map(\.address.description).joined(separator: ", ")); write the listeners out"
            )
        }
        return reasons
    }
}
