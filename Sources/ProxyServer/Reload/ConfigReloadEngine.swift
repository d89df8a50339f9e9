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
    private struct Current: Sendable {
        var config: ProxyConfig
        var template: RequestTemplate
        var generation: Int
    }

    private let runtime: ProxyRuntime
    private let supervisor: ListenerSupervisor
    private let current: Mutex<Current>
    private let environment: [String: String]
    private let logger: Logger

    init(runtime: ProxyRuntime, supervisor: ListenerSupervisor, config: ProxyConfig, template: RequestTemplate, environment: [String: String], logger: Logger) {
        self.runtime = runtime
        self.supervisor = supervisor
        self.current = Mutex(Current(config: config, template: template, generation: 1))
        self.environment = environment
        self.logger = logger
    }

    /// The config in force.
    var config: ProxyConfig { current.withLock { $0.config } }

    /// Rebuilds the accounts from the config in force and the state directory (a state file changed).
    @discardableResult
    func reloadAccounts() -> ReloadOutcome {
        let config = current.withLock { $0.config }
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
        return .reloaded(generation: current.withLock { $0.generation }, changes: changes, warnings: [])
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

    @discardableResult
    func reload(trigger: ReloadTrigger, listeners: inout ThrowingDiscardingTaskGroup<any Error>) async -> ReloadOutcome {
        if trigger == .stateDirectory { return reloadAccounts() }
        let previous = current.withLock { $0 }
        let path = previous.config.sourcePath
        let loaded: (ProxyConfig, RequestTemplate)
        do {
            let config = try ProxyConfig.load(path: path, environment: environment)
            loaded = (config, try config.compiledTemplate())
        } catch {
            let message = error.description
            logger.error("reload rejected; still serving the previous config", metadata: ["trigger": "\(trigger.rawValue)", "error": "\(message)"])
            runtime.recordReload {
                $0.lastError = message
                $0.lastErrorAt = .now
                $0.failures += 1
            }
            return .rejected(error: message)
        }
        let (config, template) = loaded
        let diff = ConfigDiff(from: previous.config, to: config, templateChanged: template.origin != previous.template.origin || previous.config.templateSource != config.templateSource)

        // Listeners: bind the new ones first; a listener that cannot bind fails the reload's listener
        // part (it is reported) but the rest of the config still applies.
        let oldSettings = runtime.settings
        let generation = previous.generation + 1
        let newSettings = ServerSettings(config: config, template: template, generation: generation)
        var listenerErrors: [String] = []
        let before = Set(oldSettings.listeners)
        let after = Set(newSettings.listeners)
        for listener in newSettings.listeners where !before.contains(listener) {
            supervisor.start(listener, in: &listeners)
            if let failure = await supervisor.waitUntilBound(listener) {
                listenerErrors.append("listener \(listener.host):\(listener.port): \(failure)")
                supervisor.forget(listener)
            }
        }
        runtime.replaceSettings(newSettings)
        runtime.setConfig(config)
        current.withLock { $0 = Current(config: config, template: template, generation: generation) }
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
        return .reloaded(generation: generation, changes: diff.description, warnings: listenerErrors)
    }
}
