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
        /// entries however busy the key, so a request costs the same at 1 and at 1,000 a second. A request is filed
        /// under the second that follows it (`ceil(now)`), so it stays in the window at least 60 s, never less: the
        /// limit is never exceeded, at the cost of a wait up to 1 s longer.
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

        /// Adds `tokens` to the count of `day`, starting from zero on a new day; saturating, so no count can trap.
        mutating func addTokens(_ tokens: Int, day: Int) {
            if self.day != day { (self.day, self.tokens) = (day, 0) }
            self.tokens = self.tokens.addingReportingOverflow(tokens).overflow ? Int.max : self.tokens + tokens
        }

        /// One of the key's open requests ended.
        mutating func endStream() {
            streams = max(0, streams - 1)
        }

        /// Makes the count of `day` at least `tokens` (the usage files' count at startup).
        mutating func raiseTokens(to tokens: Int, day: Int) {
            addTokens(0, day: day)
            self.tokens = max(self.tokens, tokens)
        }
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
            // In place (`inout` through the dictionary's subscript): a copy would copy `admitted` on every request.
            Self.admit(&all[key, default: Usage()], limits: limits, now: now, day: day)
        }
        if let refusal { return .failure(refusal) }
        return .success(KeyPermit(limiter: self, key: key))
    }

    /// Counts one request in `state` unless one of `limits` refuses it.
    private static func admit(_ state: inout Usage, limits: ProxyConfig.KeyLimits, now: Double, day: Int) -> KeyRefusal? {
        state.expire(now: now)
        state.addTokens(0, day: day)
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
        let second = Int(now.rounded(.up))
        if let last = state.admitted.last, last.second == second {
            state.admitted[state.admitted.count - 1].count += 1
        } else {
            state.admitted.append((second, 1))
        }
        state.streams += 1
        return nil
    }

    /// Adds tokens used by `key` to its count for the current UTC day. A key a reload removed since its request was
    /// admitted (``keep(only:)``) is not brought back.
    package func add(tokens: Int, key: String) {
        guard tokens > 0 else { return }
        let day = Self.day(of: now())
        usage.withLock { $0[key]?.addTokens(tokens, day: day) }
    }

    /// Forgets the keys not in `names`: a reload that removes a key from `api_keys` frees its counters, and a key
    /// added again later under that name starts from zero. The keys that stay keep theirs.
    package func keep(only names: Set<String>) {
        usage.withLock { all in
            all = all.filter { names.contains($0.key) }
        }
    }

    /// Sets the tokens each key has used today, as the usage files tell at startup, so a restart does not give a
    /// key a fresh `tokens_per_day`. Keys already counted in this process keep the larger count.
    ///
    /// - Parameter tokensToday: Input + output tokens by key name, for the current UTC day.
    package func seed(tokensToday: [String: Int]) {
        let day = Self.day(of: now())
        usage.withLock { all in
            for (key, tokens) in tokensToday { all[key, default: Usage()].raiseTokens(to: tokens, day: day) }
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
    func freeStream(key: String) {
        usage.withLock { $0[key]?.endStream() }
    }

    static func day(of time: Double) -> Int {
        Int((time / 86_400).rounded(.down))
    }

    /// Whole seconds to the next UTC midnight, at least 1.
    static func secondsToMidnight(_ time: Double) -> Int {
        max(1, Int((Double(day(of: time) + 1) * 86_400 - time).rounded(.up)))
    }
}
