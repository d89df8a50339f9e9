import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import Translation

/// Runs one HTTP application per listener and changes the set on reload: new listeners are
/// bound before removed ones stop accepting, and streams open on a removed listener get a
/// grace period to finish.
///
/// As a `Service` it hosts the listeners: it starts the configured ones, tells systemd when they are bound, and on a
/// graceful shutdown stops accepting everywhere, lets open replies run for the drain time, then ends the ones still
/// open with their dialect's error and returns once every listener has stopped.
final class ListenerSupervisor: Service, Sendable {
    struct Running: Sendable {
        var group: ServiceGroup
        var boundPort: Int?
        var failed: String?
    }

    private let running = Mutex<[ServerSettings.Listener: Running]>([:])
    private let responder: Router<ProxyRequestContext>.Responder
    private let hangups: ConnectionHangups
    private let logger: Logger
    private let gracePeriod: Duration
    private let onBound: @Sendable (ServerSettings.Listener, Int) async -> Void
    private let runtime: ProxyRuntime
    private let drainTimeout: Duration
    /// Listener runs waiting to be hosted by ``run()``: `start(_:)` may be called from the reload loop at any time.
    private let starts: AsyncStream<@Sendable () async -> Void>
    private let startContinuation: AsyncStream<@Sendable () async -> Void>.Continuation

    init(
        runtime: ProxyRuntime, gracePeriod: Duration, drainTimeout: Duration = .seconds(30), logger: Logger,
        onBound: @escaping @Sendable (ServerSettings.Listener, Int) async -> Void
    ) {
        self.responder = ProxyServerBuilder.router(runtime: runtime).buildResponder()
        self.hangups = runtime.hangups
        self.runtime = runtime
        self.logger = logger
        self.gracePeriod = gracePeriod
        self.drainTimeout = drainTimeout
        self.onBound = onBound
        (starts, startContinuation) = AsyncStream.makeStream()
    }

    /// Hosts the listeners of the settings in force and those reloads add, until a graceful shutdown (or
    /// cancellation) has stopped them all.
    func run() async {
        let initial = runtime.settings.listeners
        for listener in initial { start(listener) }
        await withTaskGroup(of: Bool.self) { group in
            // `true` once every listener run has ended.
            group.addTask { [starts] in
                await withDiscardingTaskGroup { hosted in
                    for await run in starts { hosted.addTask(operation: run) }
                }
                return true
            }
            group.addTask { [self] in
                await runtime.announceReady(listeners: initial, supervisor: self)
                return false
            }
            group.addTask { [self] in
                // Graceful shutdown or cancellation: stop accepting; open replies get the drain time, then end with
                // their dialect's error (this task is cancelled as soon as the listeners are done).
                try? await gracefulShutdown()
                startContinuation.finish()
                await stopAll()
                try? await Task.sleep(for: drainTimeout)
                guard !Task.isCancelled else { return false }
                let open = runtime.openReplies.interruptAll(.overloaded("the server is shutting down; retry the request"))
                if open > 0 { logger.notice("drain time is up; open replies end with an error", metadata: ["replies": "\(open)"]) }
                return false
            }
            for await listenersEnded in group where listenersEnded { group.cancelAll() }
        }
    }

    var listeners: [ServerSettings.Listener] { running.withLock { Array($0.keys) } }

    /// Starts a listener (hosted by ``run()``). A bind failure is logged and reported by `waitUntilBound`.
    func start(_ listener: ServerSettings.Listener) {
        let app = Application(
            responder: responder,
            // Idle connections close after 75 s (keep-alive pings every 15 s keep live streams well inside it), which
            // also bounds a client that sends its headers byte by byte.
            server: .http1(
                configuration: .init(
                    additionalChannelHandlers: [ClientHangupHandler(hangups: self.hangups), HeaderOverflowHandler()], idleTimeout: .seconds(75))),
            // A deep accept queue: a burst of clients (an agent fleet starting at once) must queue, not be refused.
            configuration: .init(address: .hostname(listener.host, port: listener.port), serverName: nil, backlog: 4096),
            onServerRunning: { [self] channel in
                let port = channel.localAddress?.port ?? listener.port
                running.withLock { $0[listener]?.boundPort = port }
                await onBound(listener, port)
            },
            logger: logger)
        let serviceGroup = ServiceGroup(
            configuration: .init(services: [.init(service: app)], gracefulShutdownSignals: [], cancellationSignals: [], logger: logger)
                .withGrace(gracePeriod))
        running.withLock { $0[listener] = Running(group: serviceGroup) }
        let logger = logger
        let run: @Sendable () async -> Void = { [self] in
            do {
                try await serviceGroup.run()
            } catch {
                logger.error("listener failed", metadata: ["address": "\(listener.host):\(listener.port)", "error": "\(error)"])
                running.withLock { $0[listener]?.failed = "\(error)" }
            }
        }
        if case .terminated = startContinuation.yield(run) {
            running.withLock { $0[listener]?.failed = "the server is shutting down" }
        }
    }

    /// Waits (bounded) until the listener is bound; returns the error text when it failed.
    func waitUntilBound(_ listener: ServerSettings.Listener, timeout: Duration = .seconds(5)) async -> String? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if Task.isCancelled { return "cancelled while waiting for \(listener.host):\(listener.port) to bind" }
            let state = running.withLock { $0[listener] }
            if let failed = state?.failed { return failed }
            if state?.boundPort != nil { return nil }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return "listener \(listener.host):\(listener.port) did not start within \(timeout)"
    }

    /// Stops accepting on a listener; its open requests get the grace period to finish.
    func stop(_ listener: ServerSettings.Listener) async {
        guard let entry = running.withLock({ $0.removeValue(forKey: listener) }) else { return }
        await entry.group.triggerGracefulShutdown()
    }

    func stopAll() async {
        for listener in listeners { await stop(listener) }
    }

    /// Forgets a listener that failed to bind, so a later reload may try it again.
    func forget(_ listener: ServerSettings.Listener) {
        running.withLock { _ = $0.removeValue(forKey: listener) }
    }
}

extension ServiceGroupConfiguration {
    fileprivate func withGrace(_ grace: Duration) -> ServiceGroupConfiguration {
        var copy = self
        copy.maximumGracefulShutdownDuration = grace
        return copy
    }
}

extension ListenerSupervisor: CustomStringConvertible {
    var description: String { "listeners" }
}
