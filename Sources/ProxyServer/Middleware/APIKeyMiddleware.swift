import HTTPTypes
import Hummingbird
import ProxyConfig
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
        let settings = runtime.settings
        let presented = Self.presentedKey(request)
        var context = context
        if let presented, let index = Self.matchingIndex(presented, settings.adminKeys) {
            context.isAdmin = true
            context.adminKeyID = "admin-key-\(index + 1)"
        }
        let keys = settings.apiKeys
        let path = request.uri.path
        guard !Self.isPublic(path), !AdminAccess.isAdminPath(path) else { return try await next(request, context) }
        guard !keys.isEmpty, !context.isAdmin else {
            // Counted, not checked: the admin's requests as `admin`, those of a server without keys as `anonymous`.
            Self.identify(context.isAdmin ? "admin" : "anonymous", in: &context)
            return try await next(request, context)
        }
        guard let presented else {
            throw ProxyHTTPError(.authentication("missing API key: send it as x-api-key or Authorization: Bearer"), context: context)
        }
        guard let index = Self.matchingIndex(presented, keys.lazy.map(\.key.value)) else {
            throw ProxyHTTPError(.authentication("invalid API key"), context: context)
        }
        let key = keys[index]
        Self.identify(key.name, in: &context)
        guard key.enabled else {
            AccessLogRecorder.current?.update { $0.keyRejection = "disabled" }
            runtime.metrics.recordKeyLimitRejection(key: key.name, limit: "disabled")
            throw ProxyHTTPError(.authentication("API key is disabled"), context: context)
        }
        return try await next(request, context)
    }

    /// Names the request's key in its context and its access-log record (the name only, never the key).
    static func identify(_ name: String, in context: inout Context) {
        context.apiKeyName = name
        AccessLogRecorder.current?.update { $0.apiKey = name }
    }

    /// `x-api-key`, else the token of `Authorization: Bearer`.
    static func presentedKey(_ request: Request) -> String? {
        if let key = request.headers[HTTPField.Name("x-api-key")!] { return key }
        if let key = request.headers[HTTPField.Name("x-admin-key")!] { return key }
        guard let authorization = request.headers[.authorization] else { return nil }
        let parts = authorization.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        return String(parts[1]).trimmingWhitespace()
    }

    /// Compares against every key, in constant time per key, so timing reveals neither which key nor how much matched.
    static func matchesAny(_ presented: String, _ keys: [String]) -> Bool {
        matchingIndex(presented, keys) != nil
    }

    /// The position of the matching key, comparing against every key whatever the outcome. The presented key's
    /// bytes are read once, not once per configured key.
    static func matchingIndex(_ presented: String, _ keys: some Collection<String>) -> Int? {
        let bytes = Array(presented.utf8)
        var matched: Int?
        for (index, key) in keys.enumerated() where constantTimeEquals(bytes, key) { matched = index }
        return matched
    }

    static func isPublic(_ path: String) -> Bool {
        // Not the API keys' business: /healthz shows its details only to admin keys or on loopback listeners
        // (HealthController), /metrics has its own keys (MetricsController).
        path == "/healthz" || path == "/health" || path == "/readyz" || path == "/metrics"
    }

    package static func constantTimeEquals(_ lhs: String, _ rhs: String) -> Bool {
        constantTimeEquals(Array(lhs.utf8), rhs)
    }

    /// Compares `presented` with `key`'s UTF-8 bytes in a time that depends on their lengths only; `key` is read in
    /// place, without a copy.
    static func constantTimeEquals(_ presented: [UInt8], _ key: String) -> Bool {
        let other = key.utf8
        let count = other.count
        var difference = UInt8(truncatingIfNeeded: presented.count ^ count)
        var bytes = other.makeIterator()
        for index in 0..<max(presented.count, count) {
            let x = index < presented.count ? presented[index] : 0
            difference |= x ^ (bytes.next() ?? 0)
        }
        return difference == 0 && presented.count == count
    }
}
