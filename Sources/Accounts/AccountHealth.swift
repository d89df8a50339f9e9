import Foundation

/// A point in wall-clock time, as a duration since the Unix epoch.
///
/// The pool keeps time in this form so that health deadlines can be persisted and shown, and so
/// that the monthly quota reset (a calendar date) can be computed. ``AccountPool`` derives it from
/// its injected monotonic clock anchored to the wall clock once at start-up, so cooldowns never
/// jump when the system clock is adjusted.
package struct PoolInstant: InstantProtocol, Hashable, Sendable, CustomStringConvertible {
    package var sinceEpoch: Duration

    package init(sinceEpoch: Duration) {
        self.sinceEpoch = sinceEpoch
    }

    package init(secondsSince1970 seconds: Int64) {
        self.sinceEpoch = .seconds(seconds)
    }

    /// The current wall-clock time.
    @Sendable package static func wallNow() -> PoolInstant {
        PoolInstant(sinceEpoch: .seconds(Date().timeIntervalSince1970))
    }

    package var secondsSince1970: Double {
        let (seconds, attoseconds) = sinceEpoch.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    package func advanced(by duration: Duration) -> PoolInstant { PoolInstant(sinceEpoch: sinceEpoch + duration) }
    package func duration(to other: PoolInstant) -> Duration { other.sinceEpoch - sinceEpoch }
    package static func < (lhs: PoolInstant, rhs: PoolInstant) -> Bool { lhs.sinceEpoch < rhs.sinceEpoch }
    package static func + (lhs: PoolInstant, rhs: Duration) -> PoolInstant { PoolInstant(sinceEpoch: lhs.sinceEpoch + rhs) }
    package static func - (lhs: PoolInstant, rhs: Duration) -> PoolInstant { PoolInstant(sinceEpoch: lhs.sinceEpoch - rhs) }
    package static func - (lhs: PoolInstant, rhs: PoolInstant) -> Duration { lhs.sinceEpoch - rhs.sinceEpoch }

    /// ISO 8601 in UTC, whole seconds.
    package var description: String {
        let date = Date(timeIntervalSince1970: secondsSince1970.rounded(.down))
        return date.formatted(.iso8601)
    }

    /// 00:00 UTC on the first day of the month after the one containing `self`: when the upstream's
    /// monthly quota resets. An instant exactly at a month's start resets at the next month's start.
    package var startOfNextMonthUTC: PoolInstant {
        let seconds = Int64(secondsSince1970.rounded(.down))
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        var (year, month, _) = Self.civil(fromDays: days)
        month += 1
        if month > 12 {
            month = 1
            year += 1
        }
        return PoolInstant(secondsSince1970: Self.days(fromCivil: year, month, 1) * 86_400)
    }

    /// Days since 1970-01-01 for a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
    package static func days(fromCivil year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The date of a day count since 1970-01-01 (H. Hinnant's `civil_from_days`).
    package static func civil(fromDays days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (month <= 2 ? yoe + era * 400 + 1 : yoe + era * 400, month, day)
    }
}

/// Where an account stands. The reason, since-time and last error live in ``AccountStatus``.
package enum AccountHealth: Sendable, Hashable {
    /// Serving.
    case active
    /// Throttled (or its token could not be refreshed for a transient reason); probed again after `until`.
    case cooling(until: PoolInstant)
    /// The upstream's monthly limit was hit; probed again when the quota resets (1st of next month, 00:00 UTC).
    case quotaExhausted(until: PoolInstant)
    /// The upstream suspended the account: no retries until an operator re-enables it or its config changes.
    case suspended
    /// The refresh token was refused (`invalid_grant`): unusable until the credentials change or an
    /// operator refreshes it successfully.
    case refreshFailed
    /// Turned off by the config, an operator, or automatically after too many errors.
    case disabled(DisabledBy)

    package enum DisabledBy: String, Sendable, Hashable {
        case config
        case `operator`
        /// `balancing.max_errors` failures within `balancing.error_window`.
        case errors
    }

    /// The snake_case name used in `/healthz`, metrics, the state files and `q2api accounts`.
    package var name: String {
        switch self {
        case .active: "active"
        case .cooling: "cooling"
        case .quotaExhausted: "quota_exhausted"
        case .suspended: "suspended"
        case .refreshFailed: "refresh_failed"
        case .disabled: "disabled"
        }
    }

    /// When a recoverable state may be probed again.
    package var until: PoolInstant? {
        switch self {
        case .cooling(let until), .quotaExhausted(let until): until
        default: nil
        }
    }

    package static let allNames = ["active", "cooling", "quota_exhausted", "suspended", "refresh_failed", "disabled"]
}

/// An account's health with its context, as shown to operators and persisted by the state store.
package struct AccountStatus: Sendable, Hashable {
    package var health: AccountHealth
    /// Why the account is in this state (`nil` for a plain `active`).
    package var reason: String?
    /// When the account entered this state.
    package var since: PoolInstant
    /// The last error seen on this account, whatever its current state.
    package var lastError: String?
    package var lastErrorAt: PoolInstant?

    package init(health: AccountHealth, reason: String? = nil, since: PoolInstant, lastError: String? = nil, lastErrorAt: PoolInstant? = nil) {
        self.health = health
        self.reason = reason
        self.since = since
        self.lastError = lastError
        self.lastErrorAt = lastErrorAt
    }
}
