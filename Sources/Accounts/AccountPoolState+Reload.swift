import Logging
import ProxyConfig

/// Config reloads and operator overrides: diffing the configured accounts, enabling and disabling, restoring saved statuses.
extension AccountPoolState {
    /// Applies a new account list: unchanged accounts keep their runtime state, new ones are added,
    /// removed ones dropped; label, weight, tier and `enabled` changes apply in place. When an
    /// account's credentials change, its token is discarded and `suspended`, `refresh_failed` and
    /// `disabled(errors)` are cleared. An unchanged account keeps its rotated refresh token while it holds
    /// an access token, and takes the list's refresh token while it holds none.
    package mutating func update(accounts: [AccountCredentials], now: PoolInstant) -> [PoolAction] {
        var actions: [PoolAction] = []
        var newOrder: [String] = []
        var seen = Set<String>()
        for account in accounts where seen.insert(account.id).inserted {
            newOrder.append(account.id)
            guard var entry = entries[account.id] else {
                let health: AccountHealth = account.enabled ? .active : .disabled(.config)
                entries[account.id] = Entry(
                    credentials: account, configured: account,
                    status: AccountStatus(health: health, reason: account.enabled ? nil : "disabled in the config", since: now))
                continue
            }
            let old = entry.configured
            if old == account { continue }
            let credentialsChanged = account.authenticatesDifferently(from: old)
            if credentialsChanged {
                entry.credentials = account
                entry.credentialsGeneration += 1
                entry.tokenExpiresAt = nil
                entry.refreshDueAt = nil
                entry.refreshFailures = 0
                entry.nextRefreshAttempt = nil
                entry.lastRefreshError = nil
                entry.recentFailures.removeAll()
                actions.append(.discardToken(id: account.id))
            } else {
                let rotated = entry.credentials.refreshToken
                let learnedARN = entry.credentials.refreshedProfileARN
                entry.credentials = account
                // An account that holds a token keeps the refresh token it rotated to (the list may have been read
                // before that refresh). One that holds none takes the list's: the state directory's latest, which
                // may be a token another process wrote after a first read found only the account (an import
                // whose refresh already spent the seed).
                if entry.tokenExpiresAt != nil { entry.credentials.refreshToken = rotated }
                entry.credentials.refreshedProfileARN = account.refreshedProfileARN ?? learnedARN
            }
            entry.configured = account
            if !account.enabled {
                if entry.status.health != .disabled(.config) {
                    actions += transition(&entry, to: .disabled(.config), reason: "disabled in the config", now: now)
                }
            } else if entry.status.health == .disabled(.config) || (old.enabled == false) {
                actions += transition(&entry, to: .active, reason: nil, now: now)
            } else if credentialsChanged {
                switch entry.status.health {
                case .suspended, .refreshFailed, .disabled(.errors):
                    actions += transition(&entry, to: .active, reason: nil, now: now)
                    actions.append(.scheduleRefresh(id: account.id))
                default: break
                }
            }
            entries[account.id] = entry
        }
        for id in order where !seen.contains(id) {
            entries[id] = nil
            actions.append(.discardToken(id: id))
            actions.append(.log(level: .info, message: "account removed", account: id))
        }
        order = newOrder
        return actions
    }

    /// Applies new tunables (a reload); health and counters are kept.
    package mutating func update(configuration: PoolConfiguration) {
        self.configuration = configuration
    }

    /// An operator turns an account off (`disabled(operator)`) or on (`active`, from any state,
    /// with its error counts and backoff reset). Returns `nil` for an unknown account.
    package mutating func setEnabled(id: String, enabled: Bool, now: PoolInstant) -> [PoolAction]? {
        guard var entry = entries[id] else { return nil }
        var actions: [PoolAction]
        if enabled {
            let wasRefreshFailed = entry.status.health == .refreshFailed
            entry.consecutiveThrottles = 0
            entry.recentFailures.removeAll()
            entry.coolingForRefresh = false
            entry.refreshFailures = 0
            entry.nextRefreshAttempt = nil
            actions = transition(&entry, to: .active, reason: nil, now: now)
            if wasRefreshFailed { actions.append(.scheduleRefresh(id: id)) }
        } else {
            actions = transition(&entry, to: .disabled(.operator), reason: "disabled by an operator", now: now)
        }
        entries[id] = entry
        return actions
    }

    /// Restores a persisted status (the state store, at start-up). Deadlines already past are kept:
    /// the account is simply probed on its next checkout.
    package mutating func restore(id: String, status: AccountStatus) {
        guard var entry = entries[id] else { return }
        if case .disabled(.config) = entry.status.health { return }
        if case .disabled(.config) = status.health { return }
        entry.status = status
        entries[id] = entry
    }
}
