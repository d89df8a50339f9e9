import HTTPTypes
import Hummingbird
import Translation

/// Admits requests that carry a configured API key as `x-api-key` or `Authorization: Bearer`.
///
/// With no keys configured every request is admitted; the config only allows that on loopback
/// listeners unless a listener says `open: true`.
package struct APIKeyMiddleware: RouterMiddleware {
    package typealias Context = ProxyRequestContext
    let runtime: ProxyRuntime

    package init(runtime: ProxyRuntime) {
        self.runtime = runtime
    }

    package func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let keys = runtime.settings.apiKeys
        guard !keys.isEmpty, !Self.isPublic(request.uri.path) else { return try await next(request, context) }
        var presented = request.headers[HTTPField.Name("x-api-key")!]
        if presented == nil, let authorization = request.headers[.authorization] {
            let parts = authorization.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" { presented = String(parts[1]).trimmingWhitespace() }
        }
        guard let presented else {
            throw ProxyHTTPError(
                .authentication("missing API key: send it as x-api-key or Authorization: Bearer"), dialect: context.dialect,
                requestID: context.requestID)
        }
        // Compare against every key, in constant time per key, so timing reveals neither which key nor how much matched.
        var matched = false
        for key in keys where Self.constantTimeEquals(presented, key) { matched = true }
        guard matched else {
            throw ProxyHTTPError(.authentication("invalid API key"), dialect: context.dialect, requestID: context.requestID)
        }
        return try await next(request, context)
    }

    static func isPublic(_ path: String) -> Bool {
        // /metrics holds no secret (see MetricsController); a `metrics_key` could guard it later.
        path == "/healthz" || path == "/health" || path == "/readyz" || path == "/metrics"
    }

    package static func constantTimeEquals(_ lhs: String, _ rhs: String) -> Bool {
        let a = Array(lhs.utf8)
        let b = Array(rhs.utf8)
        var difference = UInt8(truncatingIfNeeded: a.count ^ b.count)
        for index in 0..<max(a.count, b.count) {
            let x = index < a.count ? a[index] : 0
            let y = index < b.count ? b[index] : 0
            difference |= x ^ y
        }
        return difference == 0 && a.count == b.count
    }
}
