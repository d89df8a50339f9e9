/// What one (hour, key, account, model) bucket counts: requests, failures, throttles and tokens.
///
/// `requests` counts every request, the failed and the throttled ones included; `failures` are requests answered
/// with an error status (>= 400) that no key limit caused; `throttled` are requests a key limit refused.
package struct UsageCounts: Sendable, Hashable {
    package var requests: Int
    package var failures: Int
    package var throttled: Int
    package var inputTokens: Int
    package var outputTokens: Int

    package init(requests: Int = 0, failures: Int = 0, throttled: Int = 0, inputTokens: Int = 0, outputTokens: Int = 0) {
        self.requests = requests
        self.failures = failures
        self.throttled = throttled
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
    }

    package static let zero = UsageCounts()

    package var isZero: Bool { self == .zero }

    /// The largest count a line of a usage file may hold (2^50, about 10^15): far beyond any real hour, and small
    /// enough that adding up years of such lines cannot overflow. A larger one makes the line corrupt.
    package static let maximumCount = 1 << 50

    /// Input plus output tokens: what a key's `tokens_per_day` limit counts.
    package var tokens: Int { Self.add(inputTokens, outputTokens) }

    /// Adds counts, stopping at `Int.max` instead of trapping: a sum that large is wrong anyway, but it must never
    /// take the server down (it is computed at startup, for every query and by `q2api usage`).
    package static func + (left: UsageCounts, right: UsageCounts) -> UsageCounts {
        UsageCounts(
            requests: add(left.requests, right.requests), failures: add(left.failures, right.failures),
            throttled: add(left.throttled, right.throttled), inputTokens: add(left.inputTokens, right.inputTokens),
            outputTokens: add(left.outputTokens, right.outputTokens))
    }

    /// `left + right`, or `Int.max` (`Int.min`) where that would overflow.
    package static func add(_ left: Int, _ right: Int) -> Int {
        let (sum, overflow) = left.addingReportingOverflow(right)
        guard overflow else { return sum }
        return right > 0 ? Int.max : Int.min
    }

    package static func += (left: inout UsageCounts, right: UsageCounts) {
        left = left + right
    }
}
