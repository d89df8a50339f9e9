import Logging
import ProxyConfig

/// Access-token lifetimes: when a refresh is due or allowed, and what a refresh outcome does to the account.
extension AccountPoolState {
    /// Whether a refresh may be attempted now (failed refreshes are rate-limited by ``PoolConfiguration/refreshBackoff``).
    package func refreshAllowed(account id: String, now: PoolInstant) -> Bool {
        guard let entry = entries[id] else { return false }
        return entry.nextRefreshAttempt.map { now >= $0 } ?? true
    }

    /// The error of the last failed refresh, while further attempts are rate-limited.
    package func lastRefreshError(account id: String) -> TokenRefreshError? { entries[id]?.lastRefreshError }

    /// Records a successful refresh (after the persist hook returned).
    package mutating func tokenRefreshed(
        account id: String, expiresIn: Duration, rotatedRefreshToken: String?, now: PoolInstant, profileARN: String? = nil
    ) -> [PoolAction] {
        guard var entry = entries[id] else { return [] }
        let expiresAt = now + expiresIn
        entry.tokenExpiresAt = expiresAt
        let jitter = configuration.refreshJitter * rng.unit()
        entry.refreshDueAt = max(now, expiresAt - configuration.refreshBeforeExpiry - jitter)
        entry.refreshFailures = 0
        entry.nextRefreshAttempt = nil
        entry.lastRefreshError = nil
        if let rotatedRefreshToken { entry.credentials.refreshToken = rotatedRefreshToken }
        if let profileARN, !profileARN.isEmpty { entry.credentials.refreshedProfileARN = profileARN }
        var actions: [PoolAction] = []
        switch entry.status.health {
        case .refreshFailed:
            actions = transition(&entry, to: .active, reason: nil, now: now)
        case .cooling where entry.coolingForRefresh:
            entry.coolingForRefresh = false
            actions = transition(&entry, to: .active, reason: nil, now: now)
        default: break
        }
        entries[id] = entry
        return actions
    }

    /// Records an access token restored from the state directory at start-up.
    package mutating func tokenRestored(account id: String, expiresAt: PoolInstant, now: PoolInstant) {
        guard var entry = entries[id] else { return }
        entry.tokenExpiresAt = expiresAt
        let jitter = configuration.refreshJitter * rng.unit()
        entry.refreshDueAt = max(now, expiresAt - configuration.refreshBeforeExpiry - jitter)
        entries[id] = entry
    }

    /// Records a failed refresh. `hasValidToken`: whether the cached access token is still within
    /// its lifetime (a failed early refresh leaves the account serving).
    package mutating func tokenRefreshFailed(account id: String, error: TokenRefreshError, hasValidToken: Bool, now: PoolInstant) -> [PoolAction] {
        guard var entry = entries[id] else { return [] }
        entry.refreshFailures += 1
        entry.lastRefreshError = error
        let next = now + configuration.refreshBackoff.delay(failure: entry.refreshFailures, jitterUnit: rng.unit())
        entry.nextRefreshAttempt = next
        entry.status.lastError = "token refresh failed: \(error.message)"
        entry.status.lastErrorAt = now
        var actions: [PoolAction] = []
        if error.isPermanent {
            if !isUnusableForGood(entry.status.health) || entry.status.health == .refreshFailed {
                entry.tokenExpiresAt = nil
                entry.refreshDueAt = nil
                actions = transition(&entry, to: .refreshFailed, reason: error.message, now: now)
                actions.append(.discardToken(id: id))
            }
        } else if !hasValidToken {
            switch entry.status.health {
            case .active, .cooling:
                entry.coolingForRefresh = true
                let until = max(next, entry.status.health.until ?? next)
                actions = transition(&entry, to: .cooling(until: until), reason: "token refresh failed: \(error.message)", now: now)
            default: break
            }
        } else {
            actions = [.log(level: .warning, message: "early token refresh failed: \(error.message)", account: id)]
        }
        entries[id] = entry
        return actions
    }

    /// Accounts whose token the background loop should refresh now: they hold a token, are not
    /// out of service for good, and are past their (jittered) refresh time and rate limit.
    package func refreshesDue(now: PoolInstant) -> [String] {
        order.filter { id in
            guard let entry = entries[id], let due = entry.refreshDueAt, !isUnusableForGood(entry.status.health) else { return false }
            return now >= max(due, entry.nextRefreshAttempt ?? due)
        }
    }

    /// The earliest instant at which ``refreshesDue(now:)`` may return something new.
    package func nextRefreshDue() -> PoolInstant? {
        order.compactMap { id -> PoolInstant? in
            guard let entry = entries[id], let due = entry.refreshDueAt, !isUnusableForGood(entry.status.health) else { return nil }
            return max(due, entry.nextRefreshAttempt ?? due)
        }.min()
    }

    /// An operator asked for a refresh: lift the rate limit once.
    package mutating func allowRefreshNow(account id: String) {
        entries[id]?.nextRefreshAttempt = nil
    }
}
