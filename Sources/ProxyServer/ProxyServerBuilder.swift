import Accounts
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Upstream

/// Builds the Hummingbird application of each listener; all share one router and runtime.
package enum ProxyServerBuilder {
    package static func router(runtime: ProxyRuntime) -> Router<ProxyRequestContext> {
        let router = Router(context: ProxyRequestContext.self)
        router.add(middleware: RequestIDMiddleware(logger: runtime.logger))
        router.add(middleware: APIKeyMiddleware(runtime: runtime))
        HealthController(runtime: runtime).addRoutes(to: router)
        MessagesController(runtime: runtime).addRoutes(to: router)
        ChatCompletionsController(runtime: runtime).addRoutes(to: router)
        ModelsController(runtime: runtime).addRoutes(to: router)
        return router
    }

    /// One application per listener. `onBound` reports each bound port (port 0 picks a free one).
    package static func applications(
        runtime: ProxyRuntime, listeners: [ServerSettings.Listener], onBound: @escaping @Sendable (ServerSettings.Listener, Int) async -> Void = { _, _ in }
    ) -> [any Service] {
        let responder = router(runtime: runtime).buildResponder()
        return listeners.map { listener in
            Application(
                responder: responder,
                configuration: .init(address: .hostname(listener.host, port: listener.port), serverName: nil),
                onServerRunning: { channel in await onBound(listener, channel.localAddress?.port ?? listener.port) },
                logger: runtime.logger)
        }
    }
}
