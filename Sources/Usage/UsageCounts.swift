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

    /// Input plus output tokens: what a key's `tokens_per_day` limit counts.
    package var tokens: Int { inputTokens + outputTokens }

    package static func + (left: UsageCounts, right: UsageCounts) -> UsageCounts {
        UsageCounts(
            requests: left.requests + right.requests, failures: left.failures + right.failures,
            throttled: left.throttled + right.throttled, inputTokens: left.inputTokens + right.inputTokens,
            outputTokens: left.outputTokens + right.outputTokens)
    }

    package static func += (left: inout UsageCounts, right: UsageCounts) {
        left = left + right
    }
}
