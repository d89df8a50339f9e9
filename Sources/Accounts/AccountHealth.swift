/// Where an account stands, with the reason, as shown in `/healthz`.
package enum AccountHealth: Sendable, Equatable {
    case active
    /// Throttled; usable again after the instant.
    case cooling(until: ContinuousClock.Instant, reason: String)
    /// The upstream suspended the account.
    case suspended(reason: String)
    /// The refresh token was refused; the account must log in again.
    case refreshFailed(reason: String)
    /// Turned off in the config.
    case disabled

    package var name: String {
        switch self {
        case .active: "active"
        case .cooling: "cooling"
        case .suspended: "suspended"
        case .refreshFailed: "refresh_failed"
        case .disabled: "disabled"
        }
    }

    func isUsable(at now: ContinuousClock.Instant) -> Bool {
        switch self {
        case .active: true
        case .cooling(let until, _): now >= until
        case .suspended, .refreshFailed, .disabled: false
        }
    }
}
