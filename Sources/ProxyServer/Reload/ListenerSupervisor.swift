import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// Runs one HTTP application per listener and changes the set on reload: new listeners are
/// bound before removed ones stop accepting, and streams open on a removed listener get a
/// grace period to finish.
final class ListenerSupervisor: Sendable {
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

    init(runtime: ProxyRuntime, gracePeriod: Duration, logger: Logger, onBound: @escaping @Sendable (ServerSettings.Listener, Int) async -> Void) {
        self.responder = ProxyServerBuilder.router(runtime: runtime).buildResponder()
        self.hangups = runtime.hangups
        self.logger = logger
        self.gracePeriod = gracePeriod
        self.onBound = onBound
    }

    var listeners: [ServerSettings.Listener] { running.withLock { Array($0.keys) } }

    /// Starts a listener as a child of `group`. A bind failure is logged and reported by `waitUntilBound`.
    func start(_ listener: ServerSettings.Listener, in group: inout ThrowingDiscardingTaskGroup<any Error>) {
        let app = Application(
            responder: responder,
            // Idle connections close after 75 s (keep-alive pings every 15 s keep live streams well inside it), which
            // also bounds a client that sends its headers byte by byte.
            server: .http1(configuration: .init(additionalChannelHandlers: [ClientHangupHandler(hangups: self.hangups), HeaderOverflowHandler()], idleTimeout: .seconds(75))),
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
        group.addTask { [self] in
            do {
                try await serviceGroup.run()
            } catch {
                logger.error("listener failed", metadata: ["address": "\(listener.host):\(listener.port)", "error": "\(error)"])
                running.withLock { $0[listener]?.failed = "\(error)" }
            }
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
