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

    func reload(trigger: ReloadTrigger, listeners: inout ThrowingDiscardingTaskGroup<any Error>) async {
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
            return
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
        current.withLock { $0 = Current(config: config, template: template, generation: generation) }
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
    }
}
