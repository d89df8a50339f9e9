/// Why a key's limit refused a request.
package enum KeyRefusal: Error, Equatable, Sendable {
    case requestsPerMinute(limit: Int, retryAfter: Int)
    case concurrentStreams(limit: Int)
    case tokensPerDay(limit: Int, retryAfter: Int)

    /// The limit's YAML name: the access log's `key_limit` and the metric's `limit` label.
    package var limitName: String {
        switch self {
        case .requestsPerMinute: "requests_per_minute"
        case .concurrentStreams: "concurrent_streams"
        case .tokensPerDay: "tokens_per_day"
        }
    }

    /// Seconds the client should wait. A stream's end cannot be foreseen, so a refused stream is told 1 s.
    package var retryAfter: Int {
        switch self {
        case .requestsPerMinute(_, let seconds), .tokensPerDay(_, let seconds): seconds
        case .concurrentStreams: 1
        }
    }

    /// What the client reads: the key's name, the limit and when to try again (Codex reads "try again in N s").
    package func message(key: String) -> String {
        switch self {
        case .requestsPerMinute(let limit, let seconds):
            "API key '\(key)' is over its limit of \(limit) request\(limit == 1 ? "" : "s") per minute; try again in \(seconds) s"
        case .concurrentStreams(let limit):
            "API key '\(key)' is over its limit of \(limit) concurrent stream\(limit == 1 ? "" : "s"); try again in 1 s, when one has ended"
        case .tokensPerDay(let limit, let seconds):
            "API key '\(key)' is over its limit of \(limit) token\(limit == 1 ? "" : "s") per day (UTC); try again in \(seconds) s, after midnight UTC"
        }
    }
}
