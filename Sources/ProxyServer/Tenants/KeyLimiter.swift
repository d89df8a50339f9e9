import Foundation
import ProxyConfig
import Synchronization

/// The counters behind `api_keys[].limits`, by key name: requests admitted in the last 60 s, requests being
/// answered, and tokens used in the current UTC day.
///
/// One limiter lives as long as the server (``ProxyRuntime/keyLimiter``): a reload does not reset the counters of
/// the keys whose names stay, and the limits are passed in by each call, from the settings in force, so a reload
/// applies new limits to the next request at once.
///
/// ```swift
/// switch limiter.admit(key: "intern", limits: key.limits) {
/// case .success(let permit): ...; permit.release(tokens: 1_234)   // when the last byte is out
/// case .failure(let refusal): throw ... refusal.message(key: "intern") ...
/// }
/// ```
package final class KeyLimiter: Sendable {
    /// What one key has used.
    struct Usage {
        /// The requests admitted in the last 60 s, by whole second (seconds since 1970), oldest first: at most 61
        /// entries however busy the key, so a request costs the same at 1 and at 1,000 a second.
        var admitted: [(second: Int, count: Int)] = []

        /// Forgets the seconds that left the window ending at `now`.
        mutating func expire(now: Double) {
            admitted.removeFirst(admitted.prefix { Double($0.second) + KeyLimiter.window <= now }.count)
        }

        var admittedCount: Int { admitted.reduce(0) { $0 + $1.count } }
        var streams = 0
        /// The UTC day (days since 1970) `tokens` counts.
        var day = 0
        var tokens = 0
    }

    /// The length of the `requests_per_minute` window.
    static let window: Double = 60

    private let usage = Mutex<[String: Usage]>([:])
    /// Wall-clock seconds since 1970; injected by tests.
    private let now: @Sendable () -> Double

    package init(now: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }) {
        self.now = now
    }

    /// Admits one request of `key` when none of `limits` refuses it, counting it in the minute window and in the key's
    /// open requests until the returned permit is released.
    package func admit(key: String, limits: ProxyConfig.KeyLimits) -> Result<KeyPermit, KeyRefusal> {
        let now = self.now()
        let day = Self.day(of: now)
        let refusal: KeyRefusal? = usage.withLock { all in
            var state = all[key, default: Usage()]
            defer { all[key] = state }
            state.expire(now: now)
            if state.day != day { (state.day, state.tokens) = (day, 0) }
            if let limit = limits.concurrentStreams, state.streams >= limit {
                return .concurrentStreams(limit: limit)
            }
            if let limit = limits.tokensPerDay, state.tokens >= limit {
                return .tokensPerDay(limit: limit, retryAfter: Self.secondsToMidnight(now))
            }
            if let limit = limits.requestsPerMinute, case let count = state.admittedCount, count >= limit {
                // A place is free once the oldest seconds holding all but `limit - 1` of the requests have left.
                var remaining = count
                var frees = now + Self.window
                for bucket in state.admitted {
                    remaining -= bucket.count
                    if remaining < limit {
                        frees = Double(bucket.second) + Self.window
                        break
                    }
                }
                return .requestsPerMinute(limit: limit, retryAfter: max(1, Int((frees - now).rounded(.up))))
            }
            let second = Int(now.rounded(.down))
            if let last = state.admitted.last, last.second == second {
                state.admitted[state.admitted.count - 1].count += 1
            } else {
                state.admitted.append((second, 1))
            }
            state.streams += 1
            return nil
        }
        if let refusal { return .failure(refusal) }
        return .success(KeyPermit(limiter: self, key: key))
    }

    /// Adds tokens used by `key` to its count for the current UTC day.
    package func add(tokens: Int, key: String) {
        guard tokens > 0 else { return }
        let day = Self.day(of: now())
        usage.withLock { all in
            var state = all[key, default: Usage()]
            if state.day != day { (state.day, state.tokens) = (day, 0) }
            state.tokens += tokens
            all[key] = state
        }
    }

    /// Sets the tokens each key has used today, as the usage files tell at startup, so a restart does not give a
    /// key a fresh `tokens_per_day`. Keys already counted in this process keep the larger count.
    ///
    /// - Parameter tokensToday: Input + output tokens by key name, for the current UTC day.
    package func seed(tokensToday: [String: Int]) {
        let day = Self.day(of: now())
        usage.withLock { all in
            for (key, tokens) in tokensToday {
                var state = all[key, default: Usage()]
                if state.day != day { (state.day, state.tokens) = (day, 0) }
                state.tokens = max(state.tokens, tokens)
                all[key] = state
            }
        }
    }

    /// What `key` uses now, for the admin API and the console.
    package func current(key: String) -> KeyUsageNow {
        let now = self.now()
        let day = Self.day(of: now)
        return usage.withLock { all in
            guard var state = all[key] else { return KeyUsageNow() }
            state.expire(now: now)
            return KeyUsageNow(
                requestsLastMinute: state.admittedCount, streams: state.streams,
                tokensToday: state.day == day ? state.tokens : 0)
        }
    }

    /// One admitted request of `key` is no longer being answered: its place among the open requests is free again.
    fileprivate func freeStream(key: String) {
        usage.withLock { all in
            guard var state = all[key] else { return }
            state.streams = max(0, state.streams - 1)
            all[key] = state
        }
    }

    static func day(of time: Double) -> Int {
        Int((time / 86_400).rounded(.down))
    }

    /// Whole seconds to the next UTC midnight, at least 1.
    static func secondsToMidnight(_ time: Double) -> Int {
        max(1, Int((Double(day(of: time) + 1) * 86_400 - time).rounded(.up)))
    }
}

/// One admitted request's hold on its key's `concurrent_streams`. Released once, when the request's last byte is
/// out; later calls do nothing, so every path that ends a request may release it. A client that hangs up before its
/// response is written frees the stream too (``freeStream()``), so a response never written cannot hold a place
/// for ever.
package final class KeyPermit: Sendable, Equatable {
    private struct State {
        var streamFreed = false
        var released = false
        /// Runs once when the stream is freed (forgets the hang-up registration).
        var onFree: (@Sendable () -> Void)?
    }

    private let limiter: KeyLimiter
    package let key: String
    private let state = Mutex(State())

    fileprivate init(limiter: KeyLimiter, key: String) {
        self.limiter = limiter
        self.key = key
    }

    /// Runs `action` when the stream is freed, or at once if it already was.
    package func onFree(_ action: @escaping @Sendable () -> Void) {
        let freed = state.withLock { state in
            if !state.streamFreed { state.onFree = action }
            return state.streamFreed
        }
        if freed { action() }
    }

    /// Frees the key's place among the open requests, once, without counting tokens (the client hung up).
    package func freeStream() {
        let action: (@Sendable () -> Void)?? = state.withLock { state in
            guard !state.streamFreed else { return .none }
            state.streamFreed = true
            defer { state.onFree = nil }
            return .some(state.onFree)
        }
        guard case .some(let hook) = action else { return }
        limiter.freeStream(key: key)
        hook?()
    }

    /// The request is over: frees its stream (if a hang-up did not already) and adds its tokens to the key's day;
    /// only the first call counts.
    package func release(tokens: Int = 0) {
        let first = state.withLock { state in
            defer { state.released = true }
            return !state.released
        }
        guard first else { return }
        freeStream()
        limiter.add(tokens: tokens, key: key)
    }

    package static func == (lhs: KeyPermit, rhs: KeyPermit) -> Bool { lhs === rhs }
}

/// A key's counters at one moment (`GET /v2/usage`'s `current`).
package struct KeyUsageNow: Sendable, Equatable {
    package var requestsLastMinute = 0
    package var streams = 0
    package var tokensToday = 0

    package init(requestsLastMinute: Int = 0, streams: Int = 0, tokensToday: Int = 0) {
        self.requestsLastMinute = requestsLastMinute
        self.streams = streams
        self.tokensToday = tokensToday
    }
}

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
