import Logging
import Synchronization

/// What one request did, filled in as it goes (the exchange sets the model, the pump the account,
/// the stream writer the first-token time and the usage) and written once as the access-log line
/// and the request metrics when the response is complete — for a stream, when its last byte is out.
///
/// It holds names, numbers and times only: never a body, a key or a token.
package final class AccessLogRecorder: Sendable {
    package struct Fields: Sendable, Equatable {
        /// The model name the client asked for.
        package var model: String?
        /// The same, capped to configured names (or `other`) for metric labels.
        package var metricModel: String?
        /// The account that served (or last failed) the request.
        package var account: String?
        package var stream = false
        package var firstTokenAt: ContinuousClock.Instant?
        package var inputTokens: Int?
        package var outputTokens: Int?
        /// The classification of the last upstream failure, if any.
        package var upstreamError: String?
        /// Upstream attempts made (more than one means failover).
        package var attempts = 0
        /// The name of the API key the request presented (`api_keys[].name`; never the key itself); `anonymous`
        /// when the server has no `api_keys`. Set by ``APIKeyMiddleware``.
        package var apiKey: String?
        /// The key limit that refused the request (`requests_per_minute`, `concurrent_streams`, `tokens_per_day`,
        /// `models`), when one did: counted as a throttle in the usage files and metrics, not as an upstream failure.
        package var keyRejection: String?
        /// The request's hold on its key's `concurrent_streams`, released by ``AccessLogLine/write(clientGone:)``.
        package var keyPermit: KeyPermit?
    }

    package let started: ContinuousClock.Instant
    private let fields = Mutex(Fields())

    package init(started: ContinuousClock.Instant = .now) {
        self.started = started
    }

    package var snapshot: Fields { fields.withLock { $0 } }

    package func update(_ body: (inout Fields) -> Void) {
        fields.withLock { body(&$0) }
    }

    /// The first reply event went out; later calls keep the first time.
    package func markFirstToken(at instant: ContinuousClock.Instant = .now) {
        fields.withLock { if $0.firstTokenAt == nil { $0.firstTokenAt = instant } }
    }

    /// The recorder of the request being handled, for code that has no `ProxyRequestContext` at hand.
    @TaskLocal package static var current: AccessLogRecorder?

    /// The access-log metadata of a finished request.
    package func metadata(requestID: String, method: String, path: String, status: Int, dialect: String, at end: ContinuousClock.Instant)
        -> Logger.Metadata
    {
        let fields = snapshot
        var metadata: Logger.Metadata = [
            "request.id": "\(requestID)", "method": "\(method)", "path": "\(path)", "status": "\(status)", "dialect": "\(dialect)",
            "duration_ms": "\(Self.milliseconds(end - started))",
        ]
        if let model = fields.model { metadata["model"] = "\(model)" }
        if let key = fields.apiKey { metadata["key"] = "\(key)" }
        if let rejection = fields.keyRejection { metadata["key_limit"] = "\(rejection)" }
        if let account = fields.account { metadata["account"] = "\(account)" }
        if fields.stream { metadata["stream"] = "true" }
        if let first = fields.firstTokenAt { metadata["ttft_ms"] = "\(Self.milliseconds(first - started))" }
        if let input = fields.inputTokens { metadata["input_tokens"] = "\(input)" }
        if let output = fields.outputTokens { metadata["output_tokens"] = "\(output)" }
        if let error = fields.upstreamError { metadata["upstream_error"] = "\(error)" }
        if fields.attempts > 1 { metadata["attempts"] = "\(fields.attempts)" }
        return metadata
    }

    static func milliseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
