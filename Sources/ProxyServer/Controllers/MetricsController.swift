import Hummingbird
import NIOCore

/// `GET /metrics`: every metric in the Prometheus text exposition format (version 0.0.4).
///
/// Open on listeners bound to a loopback address; on any other listener it needs an admin key or one of
/// `metrics_keys` as `Authorization: Bearer` (what Prometheus sends for `authorization` in a scrape config),
/// and answers a plain-text 401 otherwise. The output holds counts, durations, model names and account ids,
/// never a key, a token or an e-mail address. Scrape-time values (account states, config generation,
/// reloads) are refreshed first, one scrape at a time.
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
        guard Self.mayScrape(request, context: context, settings: runtime.settings) else {
            let presented = APIKeyMiddleware.presentedKey(request) != nil
            let text =
                presented
                ? "401 Unauthorized: this key may not read /metrics; use one of metrics_keys or admin_keys\n"
                : "401 Unauthorized: /metrics on this listener needs a key from metrics_keys or admin_keys as Authorization: Bearer\n"
            return Response(
                status: .unauthorized,
                headers: [.contentType: "text/plain; charset=utf-8", .wwwAuthenticate: #"Bearer realm="q2api metrics""#],
                body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        let bytes = runtime.metrics.scrape { runtime.refreshScrapeMetrics() }
        return Response(status: .ok, headers: [.contentType: Self.contentType], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// A loopback listener, an admin key, or one of `metrics_keys` (compared in constant time).
    static func mayScrape(_ request: Request, context: ProxyRequestContext, settings: ServerSettings) -> Bool {
        if context.listenerIsLoopback || context.isAdmin { return true }
        guard let presented = APIKeyMiddleware.presentedKey(request) else { return false }
        return APIKeyMiddleware.matchesAny(presented, settings.metricsKeys)
    }
}
