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

    package private(set) var entries: [String: Entry] = [:]
    /// Account ids in config order.
    package private(set) var order: [String] = []
    package private(set) var configuration: PoolConfiguration
    private var rng: PoolRandom
    private var roundRobinLast = -1
    private var bindings: [String: Binding] = [:]

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

    // MARK: - Checkout

    /// Picks an account for a request: the session's bound account when it is eligible, else the
    /// lowest tier with an eligible account, then the configured strategy within that tier.
    package mutating func checkout(now: PoolInstant, sessionKey: String? = nil, excluding: Set<String> = []) -> CheckoutDecision {
        if entries.isEmpty { return .noneConfigured }
        var candidates: [(index: Int, id: String)] = []
        for (index, id) in order.enumerated() where !excluding.contains(id) {
            if let entry = entries[id], isEligible(entry, now: now) { candidates.append((index, id)) }
        }
        guard !candidates.isEmpty else { return unavailable(now: now, excluding: excluding) }

        var chosen: String?
        var rebind = sessionKey != nil
        if let sessionKey, let binding = bindings[sessionKey], binding.expiresAt > now, let bound = entries[binding.account] {
            if candidates.contains(where: { $0.id == binding.account }) {
                chosen = binding.account
            } else if case .active = bound.status.health {
                // Still healthy, only excluded for this request (it just failed once): keep the binding.
                rebind = false
            }
        }
        if chosen == nil { chosen = pick(from: candidates) }
        let id = chosen!
        if let sessionKey {
            if rebind || bindings[sessionKey]?.account == id {
                bind(sessionKey, to: id, now: now)
            }
        }
        entries[id]!.inFlight += 1
        if entries[id]!.status.health != .active { entries[id]!.probeInFlight = true }
        return .account(entries[id]!.credentials)
    }

    /// Checks out the account `id` when it is eligible now.
    package mutating func checkout(only id: String, now: PoolInstant) -> CheckoutDecision {
        guard let entry = entries[id], isEligible(entry, now: now) else { return .noneUsable }
        entries[id]!.inFlight += 1
        if entry.status.health != .active { entries[id]!.probeInFlight = true }
        return .account(entry.credentials)
    }

    private func unavailable(now: PoolInstant, excluding: Set<String>) -> CheckoutDecision {
        var earliest: PoolInstant?
        for (id, entry) in entries where !excluding.contains(id) {
            guard case .cooling(let until) = entry.status.health else { continue }
            // A cooling account whose probe is in flight may come back any moment.
            let back = max(until, now + .seconds(1))
            earliest = min(earliest ?? back, back)
        }
        guard let earliest else { return .noneUsable }
        return .allCooling(retryAfter: max(.seconds(1), now.duration(to: earliest)))
    }

    private mutating func pick(from candidates: [(index: Int, id: String)]) -> String {
        let tier = candidates.map { entries[$0.id]!.credentials.tier }.min()!
        let inTier = candidates.filter { entries[$0.id]!.credentials.tier == tier }
        switch configuration.strategy {
        case .random:
            return inTier[Int.random(in: 0..<inTier.count, using: &rng)].id
        case .weighted:
            let weights = inTier.map { max(1, entries[$0.id]!.credentials.weight) }
            var ticket = Int.random(in: 0..<weights.reduce(0, +), using: &rng)
            for (candidate, weight) in zip(inTier, weights) {
                ticket -= weight
                if ticket < 0 { return candidate.id }
            }
            return inTier[inTier.count - 1].id
        case .leastInflight:
            let least = inTier.map { entries[$0.id]!.inFlight }.min()!
            let ties = inTier.filter { entries[$0.id]!.inFlight == least }
            return ties[Int.random(in: 0..<ties.count, using: &rng)].id
        case .roundRobin:
            let next = inTier.first { $0.index > roundRobinLast } ?? inTier[0]
            roundRobinLast = next.index
            return next.id
        }
    }

    private mutating func bind(_ sessionKey: String, to id: String, now: PoolInstant) {
        guard configuration.affinityTTL > .zero else { return }
        bindings[sessionKey] = Binding(account: id, expiresAt: now + configuration.affinityTTL)
        let limit = max(1, configuration.maxAffinityEntries)
        guard bindings.count > limit else { return }
        bindings = bindings.filter { $0.value.expiresAt > now }
        guard bindings.count > limit else { return }
        // Evict the least recently used tenth at once, so the sort is amortised over many inserts.
        let target = limit - limit / 10
        let oldest = bindings.sorted { $0.value.expiresAt < $1.value.expiresAt }.prefix(bindings.count - target)
        for (key, _) in oldest where key != sessionKey { bindings[key] = nil }
    }

    // MARK: - Outcomes

    /// Ends a checkout: decrements the in-flight count and applies the outcome to the account's health.
    package mutating func record(_ outcome: CheckoutOutcome, account id: String, now: PoolInstant) -> [PoolAction] {
        guard var entry = entries[id] else { return [] }
        entry.inFlight = max(0, entry.inFlight - 1)
        entry.probeInFlight = false
        var actions: [PoolAction] = []
        switch outcome {
        case .cancelled:
            break
        case .success:
            entry.successes += 1
            entry.recentFailures.removeAll()
            entry.consecutiveThrottles = 0
            switch entry.status.health {
            case .cooling, .quotaExhausted:
                entry.coolingForRefresh = false
                actions += transition(&entry, to: .active, reason: nil, now: now)
            default: break
            }
        case .failure(let kind, let message):
            entry.failures += 1
            entry.status.lastError = message
            entry.status.lastErrorAt = now
            switch kind {
            case .throttled(let hint):
                actions += throttle(&entry, hint: hint, message: message, now: now)
            case .quotaExhausted:
                if case .disabled = entry.status.health { break }
                if case .suspended = entry.status.health { break }
                actions += transition(&entry, to: .quotaExhausted(until: now.startOfNextMonthUTC), reason: message, now: now)
            case .suspended:
                if case .disabled = entry.status.health { break }
                actions += transition(&entry, to: .suspended, reason: message, now: now)
            case .other:
                actions += countFailure(&entry, now: now)
            }
        }
        entries[id] = entry
        return actions
    }

    private mutating func throttle(_ entry: inout Entry, hint: Duration?, message: String, now: PoolInstant) -> [PoolAction] {
        switch entry.status.health {
        case .active:
            break
        case .cooling(let until) where until > now:
            // Another request that was already in flight: honour its hint, but do not escalate.
            guard let hint, now + hint > until else { return [] }
            entry.status.health = .cooling(until: now + hint)
            return [.persistStatus(id: entry.credentials.id, health: entry.status.health, reason: entry.status.reason)]
        case .cooling, .quotaExhausted:
            break  // a failed probe
        case .suspended, .refreshFailed, .disabled:
            return []
        }
        entry.consecutiveThrottles += 1
        let delay = configuration.throttleBackoff.delay(failure: entry.consecutiveThrottles, jitterUnit: rng.unit(), hint: hint)
        entry.coolingForRefresh = false
        return transition(&entry, to: .cooling(until: now + delay), reason: message, now: now)
    }

    private func isUnusableForGood(_ health: AccountHealth) -> Bool {
        switch health {
        case .suspended, .refreshFailed, .disabled: true
        default: false
        }
    }

    private mutating func countFailure(_ entry: inout Entry, now: PoolInstant) -> [PoolAction] {
        if isUnusableForGood(entry.status.health) { return [] }
        let windowStart = now - configuration.errorWindow
        entry.recentFailures.removeAll { $0 <= windowStart }
        entry.recentFailures.append(now)
        let limit = max(1, configuration.maxErrors)
        if entry.recentFailures.count > limit { entry.recentFailures.removeFirst(entry.recentFailures.count - limit) }
        guard entry.recentFailures.count >= limit else { return [] }
        entry.recentFailures.removeAll()
        let reason = "\(limit) failures within \(Self.format(configuration.errorWindow))"
        return transition(&entry, to: .disabled(.errors), reason: reason, now: now)
    }

    private func transition(_ entry: inout Entry, to health: AccountHealth, reason: String?, now: PoolInstant) -> [PoolAction] {
        let previous = entry.status.health
        if previous == health && entry.status.reason == reason { return [] }
        entry.status.health = health
        entry.status.reason = reason
        entry.status.since = now
        let id = entry.credentials.id
        let level: Logger.Level = health == .active ? .info : .warning
        var message = "account \(previous.name) -> \(health.name)"
        if let until = health.until { message += " until \(until)" }
        if let reason { message += ": \(reason)" }
        return [.persistStatus(id: id, health: health, reason: reason), .log(level: level, message: message, account: id)]
    }

    // MARK: - Tokens

    /// Whether a refresh may be attempted now (failed refreshes are rate-limited by ``PoolConfiguration/refreshBackoff``).
    package func refreshAllowed(account id: String, now: PoolInstant) -> Bool {
        guard let entry = entries[id] else { return false }
        return entry.nextRefreshAttempt.map { now >= $0 } ?? true
    }

    /// The error of the last failed refresh, while further attempts are rate-limited.
    package func lastRefreshError(account id: String) -> TokenRefreshError? { entries[id]?.lastRefreshError }

    /// Records a successful refresh (after the persist hook returned).
    package mutating func tokenRefreshed(account id: String, expiresIn: Duration, rotatedRefreshToken: String?, now: PoolInstant) -> [PoolAction] {
        guard var entry = entries[id] else { return [] }
        let expiresAt = now + expiresIn
        entry.tokenExpiresAt = expiresAt
        let jitter = configuration.refreshJitter * rng.unit()
        entry.refreshDueAt = max(now, expiresAt - configuration.refreshBeforeExpiry - jitter)
        entry.refreshFailures = 0
        entry.nextRefreshAttempt = nil
        entry.lastRefreshError = nil
        if let rotatedRefreshToken { entry.credentials.refreshToken = rotatedRefreshToken }
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

    // MARK: - Reload and operator overrides

    /// Applies a new account list: unchanged accounts keep their runtime state, new ones are added,
    /// removed ones dropped; label, weight, tier and `enabled` changes apply in place. When an
    /// account's credentials change, its token is discarded and `suspended`, `refresh_failed` and
    /// `disabled(errors)` are cleared.
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
                entry.credentials = account
                entry.credentials.refreshToken = rotated
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

    // MARK: - Status

    package func snapshot(now: PoolInstant, hasToken: (String) -> Bool = { _ in false }) -> [AccountSnapshot] {
        order.compactMap { id in
            guard let entry = entries[id] else { return nil }
            return AccountSnapshot(
                id: id, label: entry.credentials.label, tier: entry.credentials.tier, weight: entry.credentials.weight, status: entry.status,
                inFlight: entry.inFlight, successes: entry.successes, failures: entry.failures, tokenExpiresAt: entry.tokenExpiresAt,
                tokenValid: hasToken(id) && (entry.tokenExpiresAt.map { now < $0 } ?? false))
        }
    }

    static func format(_ duration: Duration) -> String {
        let seconds = duration.components.seconds
        if seconds % 3600 == 0 && seconds >= 3600 { return "\(seconds / 3600)h" }
        if seconds % 60 == 0 && seconds >= 60 { return "\(seconds / 60)m" }
        return "\(seconds)s"
    }
}
