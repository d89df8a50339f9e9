import Hummingbird
import NIOCore

/// `GET /metrics`: every metric in the Prometheus text exposition format (version 0.0.4).
///
/// Public, like `/healthz`: the output holds counts, durations, model names and account ids,
/// never a key, a token or an e-mail address. Scrape-time values (account states, config
/// generation, reloads) are refreshed first, one scrape at a time.
package struct MetricsController: Sendable {
    let runtime: ProxyRuntime

    package static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    package init(runtime: ProxyRuntime) {
        self.runtime = runtime
    }

    package func addRoutes(to router: Router<ProxyRequestContext>) {
        router.get("/metrics", use: metrics)
    }

    @Sendable func metrics(_ request: Request, context: ProxyRequestContext) async throws -> Response {
        let bytes = runtime.metrics.scrape { runtime.refreshScrapeMetrics() }
        return Response(status: .ok, headers: [.contentType: Self.contentType], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
