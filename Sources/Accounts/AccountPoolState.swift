import Logging
import ProxyConfig

/// What ``AccountPoolState/checkout(now:sessionKey:excluding:)`` decided.
package enum CheckoutDecision: Sendable, Equatable {
    /// Use this account; its in-flight count was incremented and it must be recorded once.
    case account(AccountCredentials)
    /// There is no account at all (the server answers 503/529 "no account configured").
    case noneConfigured
    /// Every candidate is cooling after throttling; the earliest comes back after `retryAfter`
    /// (the server answers 429 with `retry-after`).
    case allCooling(retryAfter: Duration)
    /// Accounts exist but none can serve (suspended, disabled, refresh failed, quota exhausted).
    case noneUsable
}

/// How a checked-out request went, as far as the account's health is concerned.
package enum CheckoutOutcome: Sendable, Equatable {
    case success
    /// The client went away or the request was abandoned: says nothing about the account.
    case cancelled
    case failure(FailureKind, message: String)
}

package enum FailureKind: Sendable, Equatable {
    /// Throttling (429, or an overloaded upstream): cooling with backoff, honouring the hint.
    case throttled(retryAfter: Duration?)
    /// The monthly limit: cooling until the quota resets.
    case quotaExhausted
    /// The account is suspended upstream: no retries.
    case suspended
    /// Anything else (5xx, connection error, a token refused after a refresh): counts towards auto-disable.
    case other
}

/// Side effects the state machine asks for; ``AccountPool`` runs them outside its lock.
package enum PoolAction: Sendable, Equatable {
    /// The account's health changed: hand it to the state store.
    case persistStatus(id: String, health: AccountHealth, reason: String?)
    case log(level: Logger.Level, message: String, account: String)
    /// Refresh the account's token now (its credentials changed, or an operator re-enabled it).
    case scheduleRefresh(id: String)
    /// Forget the cached access token (the account's credentials changed or it was removed).
    case discardToken(id: String)
}

/// A row of `/healthz`, metrics and `q2api accounts`. Never carries a secret.
package struct AccountSnapshot: Sendable, Equatable {
    package var id: String
    package var label: String
    package var tier: Int
    package var weight: Int
    package var status: AccountStatus
    package var inFlight: Int
    package var successes: Int
    package var failures: Int
    package var tokenExpiresAt: PoolInstant?
    /// Whether the cached access token is still within its lifetime.
    package var tokenValid: Bool
    /// How the account refreshes (the admin API and the console show it).
    package var kind: AccountKind = .oidc

    package var health: AccountHealth { status.health }
}

/// The account pool as a pure value: no clock, no I/O, no locks. Every input carries `now`; every
/// side effect comes back as a ``PoolAction``.
///
/// Transitions (reasons are kept in ``AccountStatus``):
///
/// - `active` → `cooling(until)` on throttling (``Backoff``), → `quota_exhausted(until)` on the
///   monthly limit, → `suspended` on suspension, → `refresh_failed` on an invalid refresh token,
///   → `disabled(errors)` after `maxErrors` other failures within `errorWindow`.
/// - A transient refresh failure while the account has no valid token → `cooling` until the next
///   refresh attempt is allowed.
/// - `cooling`/`quota_exhausted` become eligible again at `until`; from then on the account is
///   *probed*: at most one request at a time until one succeeds (→ `active`) or fails with
///   throttling (→ `cooling` with the next backoff step). A successful token refresh also ends a
///   refresh-caused cooling.
/// - `suspended`, `refresh_failed` and `disabled(errors)` end when the account's credentials change
///   in the config or an operator re-enables it; `refresh_failed` also on a successful refresh.
/// - `disabled(config)` follows the config's `enabled`; `disabled(operator)` follows ``setEnabled(id:enabled:now:)``.
package struct AccountPoolState: Sendable {
    package struct Entry: Sendable {
        /// The credentials in use (the refresh token may have rotated since the config was read).
        package var credentials: AccountCredentials
        /// The credentials as last configured, to diff reloads against.
        package var configured: AccountCredentials
        package var status: AccountStatus
        package var inFlight = 0
        package var successes = 0
        package var failures = 0
        var consecutiveThrottles = 0
        var recentFailures: [PoolInstant] = []
        var probeInFlight = false
        var coolingForRefresh = false
        package var tokenExpiresAt: PoolInstant?
        var refreshDueAt: PoolInstant?
        var refreshFailures = 0
        var nextRefreshAttempt: PoolInstant?
        var lastRefreshError: TokenRefreshError?
        /// Bumped whenever the credentials are replaced, so a refresh started with the old ones is discarded.
        package var credentialsGeneration = 0
    }

    struct Binding: Sendable {
        var account: String
        var expiresAt: PoolInstant
    }

    package internal(set) var entries: [String: Entry] = [:]
    /// Account ids in config order.
    package internal(set) var order: [String] = []
    package internal(set) var configuration: PoolConfiguration
    var rng: PoolRandom
    var roundRobinLast = -1
    var bindings: [String: Binding] = [:]

    package init(accounts: [AccountCredentials], configuration: PoolConfiguration = .init(), random: PoolRandom = .init(), now: PoolInstant) {
        self.configuration = configuration
        self.rng = random
        _ = update(accounts: accounts, now: now)
    }

    /// Session bindings currently held (for tests and metrics).
    package var affinityCount: Int { bindings.count }

    package func boundAccount(for sessionKey: String, now: PoolInstant) -> String? {
        guard let binding = bindings[sessionKey], binding.expiresAt > now else { return nil }
        return binding.account
    }

    // MARK: - Eligibility

    /// Whether a request may be sent through the account now (probes included).
    func isEligible(_ entry: Entry, now: PoolInstant) -> Bool {
        switch entry.status.health {
        case .active: true
        case .cooling(let until), .quotaExhausted(let until): now >= until && !entry.probeInFlight
        case .suspended, .refreshFailed, .disabled: false
        }
    }

    /// Accounts a request could be sent through now.
    package func usableCount(now: PoolInstant) -> Int {
        entries.values.filter { isEligible($0, now: now) }.count
    }

    // MARK: - Status

    package func snapshot(now: PoolInstant, hasToken: (String) -> Bool = { _ in false }) -> [AccountSnapshot] {
        order.compactMap { id in
            guard let entry = entries[id] else { return nil }
            return AccountSnapshot(
                id: id, label: entry.credentials.label, tier: entry.credentials.tier, weight: entry.credentials.weight, status: entry.status,
                inFlight: entry.inFlight, successes: entry.successes, failures: entry.failures, tokenExpiresAt: entry.tokenExpiresAt,
                tokenValid: hasToken(id) && (entry.tokenExpiresAt.map { now < $0 } ?? false), kind: entry.credentials.kind)
        }
    }

    static func format(_ duration: Duration) -> String {
        let seconds = duration.components.seconds
        if seconds % 3600 == 0 && seconds >= 3600 { return "\(seconds / 3600)h" }
        if seconds % 60 == 0 && seconds >= 60 { return "\(seconds / 60)m" }
        return "\(seconds)s"
    }
}
