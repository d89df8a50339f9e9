import Accounts
import Logging
import ProxyConfig
import ServiceLifecycle
import Synchronization
import UnixSignals

/// The reload loop as a `Service`: takes reload requests from SIGHUP, the config file watcher, the state directory
/// watcher and the admin API (``ProxyRuntime/reloadNow(trigger:)``), and applies them one at a time. A graceful
/// shutdown ends it first, so that no reload starts a listener while the others stop.
struct ReloadService: Service, CustomStringConvertible {
    let runtime: ProxyRuntime
    let reloader: ConfigReloadEngine
    let options: ReloadOptions
    let stateStore: AccountStateStore?
    let logger: Logger

    var description: String { "reloads" }

    func run() async {
        let (requests, continuation) = AsyncStream<ReloadRequest>.makeStream()
        runtime.setReloadRequester { request in
            if case .terminated = continuation.yield(request) { request.reply?(nil) }
        }
        defer { runtime.setReloadRequester(nil) }
        let retry = ReloadRetry()
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { background in
                if options.reloadOnSignal {
                    background.addTask {
                        for await _ in await UnixSignalsSequence(trapping: .sighup) { continuation.yield(ReloadRequest(trigger: .signal)) }
                    }
                }
                if let interval = options.pollInterval {
                    let watcher = ConfigFileWatcher(path: reloader.config.sourcePath, interval: interval)
                    background.addTask { await watcher.run { continuation.yield(ReloadRequest(trigger: .fileChanged)) } }
                    if let stateStore {
                        let stateWatcher = StateDirectoryWatcher(store: stateStore, interval: interval)
                        background.addTask { [logger] in
                            for await change in stateWatcher.changes() {
                                logger.info("state file \(change)")
                                continuation.yield(ReloadRequest(trigger: .stateDirectory))
                            }
                        }
                    }
                }
                for await request in requests {
                    runtime.announceReloading()
                    let outcome = await reloader.reload(trigger: request.trigger, requestedAt: request.requestedAt)
                    runtime.announceReloaded()
                    request.reply?(outcome)
                    if case .unsettled = outcome, retry.schedule() {
                        // The file kept changing: try again later (once), whatever triggered this one.
                        let delay = options.settle ?? reloader.config.reload.settle
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
    }
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
