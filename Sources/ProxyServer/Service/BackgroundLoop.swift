import ServiceLifecycle

/// A loop that runs for the server's whole life (token refresh, model discovery, state flushes) as a `Service`,
/// cancelled when the group shuts down gracefully.
///
/// Each loop ends on cancellation by itself; this only ties it to the group's shutdown order, so that the loops
/// listed first in the group stop last.
struct BackgroundLoop: Service, CustomStringConvertible {
    /// The name ServiceLifecycle logs.
    let description: String
    let body: @Sendable () async -> Void

    init(_ name: String, body: @escaping @Sendable () async -> Void) {
        self.description = name
        self.body = body
    }

    func run() async {
        await cancelWhenGracefulShutdown(body)
    }
}
