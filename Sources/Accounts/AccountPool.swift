import Logging
import Synchronization

/// The accounts the server can use, their tokens and their health.
///
/// A thin shell around ``AccountPoolState``: the state sits behind a `Mutex` (selection is
/// synchronous and hot; an actor would add suspension points and re-entrancy), every method
/// modifies the state under the lock and then runs the returned ``PoolAction``s outside it.
/// Time comes from an injected clock, anchored to the wall clock once at start-up.
///
/// Token refreshes are single-flight per account: the first caller starts one `Task`, every
/// concurrent caller awaits that task. A refreshed token is handed out only after the
/// ``TokenRefreshedHook`` returned (the server persists a rotated refresh token there).
package final class AccountPool: Sendable {
    struct Storage: Sendable {
        var machine: AccountPoolState
        /// Cached access tokens (kept out of the state machine so snapshots can never leak one).
        var tokens: [String: String] = [:]
        var refreshes: [String: Task<String, any Error>] = [:]
    }

    private let storage: Mutex<Storage>
    private let refresher: TokenRefresher
    private let onTokenRefreshed: TokenRefreshedHook?
    private let onStatusChanged: AccountStatusHook?
    private let logger: Logger
    private let clockNow: @Sendable () -> PoolInstant
    private let clockSleep: @Sendable (PoolInstant) async throws -> Void

    /// - Parameters:
    ///   - clock: drives cooldowns, token lifetimes and the refresh loop; tests inject a manual clock.
    ///   - wallClock: read once, to anchor `clock` to calendar time (quota resets, persisted deadlines).
    ///   - random: the selection and jitter generator; seed it for deterministic tests.
    package init<C: Clock>(
        accounts: [AccountCredentials], configuration: PoolConfiguration = .init(), refresher: @escaping TokenRefresher,
        onTokenRefreshed: TokenRefreshedHook? = nil, onStatusChanged: AccountStatusHook? = nil,
        clock: C = ContinuousClock(), wallClock: @Sendable () -> PoolInstant = PoolInstant.wallNow, random: PoolRandom = .init(),
        logger: Logger = Logger(label: "q2api.accounts")
    ) where C.Duration == Duration {
        let origin = clock.now
        let wallOrigin = wallClock()
        let now: @Sendable () -> PoolInstant = { wallOrigin + origin.duration(to: clock.now) }
        self.clockNow = now
        self.clockSleep = { deadline in
            try await clock.sleep(until: origin.advanced(by: wallOrigin.duration(to: deadline)), tolerance: nil)
        }
        self.storage = Mutex(Storage(machine: AccountPoolState(accounts: accounts, configuration: configuration, random: random, now: now())))
        self.refresher = refresher
        self.onTokenRefreshed = onTokenRefreshed
        self.onStatusChanged = onStatusChanged
        self.logger = logger
    }

    /// The pool's current time.
    package var now: PoolInstant { clockNow() }

    // MARK: - Selection

    /// Picks an account for a request (see ``AccountPoolState/checkout(now:sessionKey:excluding:)``).
    /// Every `.account` must be ended with exactly one ``checkin(_:outcome:)``.
    package func checkout(sessionKey: String? = nil, excluding: Set<String> = []) -> CheckoutDecision {
        let now = clockNow()
        return storage.withLock { $0.machine.checkout(now: now, sessionKey: sessionKey, excluding: excluding) }
    }

    /// Checks out one named account if it can serve now (an admin's test request); no strategy,
    /// no affinity. Returns `.noneUsable` when it cannot.
    package func checkout(only id: String) -> CheckoutDecision {
        let now = clockNow()
        return storage.withLock { $0.machine.checkout(only: id, now: now) }
    }

    /// Ends a checkout, recording the outcome.
    package func checkin(_ id: String, outcome: CheckoutOutcome) {
        let now = clockNow()
        let actions = storage.withLock { $0.machine.record(outcome, account: id, now: now) }
        run(actions)
    }

    package typealias Outcome = CheckoutOutcome
    package typealias FailureKind = Accounts.FailureKind

    // MARK: - Tokens

    /// A valid access token for the account, refreshing it first when it is missing, within
    /// `refresh.before_expiry` of its expiry, or equal to `rejected` (a token the upstream just
    /// called expired). Concurrent callers share one refresh. After a failed refresh, further
    /// attempts are rate-limited (``PoolConfiguration/refreshBackoff``): meanwhile the still-valid
    /// old token is returned, or the last error thrown.
    package func accessToken(for id: String, rejected: String? = nil) async throws -> String {
        let now = clockNow()
        enum Decision {
            case token(String)
            case wait(Task<String, any Error>)
            case fail(TokenRefreshError)
        }
        let decision: Decision = storage.withLock { storage in
            guard let entry = storage.machine.entries[id] else {
                return .fail(TokenRefreshError(isPermanent: true, message: "unknown account \(id)"))
            }
            let current = storage.tokens[id].flatMap { $0 == rejected ? nil : $0 }
            let expiresAt = entry.tokenExpiresAt
            if let current, let expiresAt, now + storage.machine.configuration.refreshBeforeExpiry < expiresAt { return .token(current) }
            if let running = storage.refreshes[id] { return .wait(running) }
            if !storage.machine.refreshAllowed(account: id, now: now) {
                if let current, let expiresAt, now < expiresAt { return .token(current) }
                return .fail(
                    storage.machine.lastRefreshError(account: id) ?? TokenRefreshError(isPermanent: false, message: "token refresh rate-limited"))
            }
            return .wait(startRefresh(id, in: &storage))
        }
        switch decision {
        case .token(let token): return token
        case .fail(let error): throw error
        case .wait(let task): return try await task.value
        }
    }

    /// Refreshes the account's token now, joining a refresh already running. An operator's
    /// refresh (`force`) ignores the failure rate limit and can bring back a `refresh_failed` account.
    @discardableResult
    package func refresh(_ id: String, force: Bool = true) async throws -> String {
        let now = clockNow()
        let task: Task<String, any Error> = try storage.withLock { storage in
            guard storage.machine.entries[id] != nil else { throw TokenRefreshError(isPermanent: true, message: "unknown account \(id)") }
            if let running = storage.refreshes[id] { return running }
            if force {
                storage.machine.allowRefreshNow(account: id)
            } else if !storage.machine.refreshAllowed(account: id, now: now) {
                throw storage.machine.lastRefreshError(account: id) ?? TokenRefreshError(isPermanent: false, message: "token refresh rate-limited")
            }
            return startRefresh(id, in: &storage)
        }
        return try await task.value
    }

    /// Starts the single refresh task of the account; call with the lock held and no task running.
    private func startRefresh(_ id: String, in storage: inout Storage) -> Task<String, any Error> {
        let credentials = storage.machine.entries[id]!.credentials
        let generation = storage.machine.entries[id]!.credentialsGeneration
        let task = Task { [self] in try await self.performRefresh(id, credentials: credentials, generation: generation) }
        storage.refreshes[id] = task
        return task
    }

    private func performRefresh(_ id: String, credentials: AccountCredentials, generation: Int) async throws -> String {
        do {
            let token: RefreshedToken
            do {
                token = try await refresher(credentials)
            }
            if let onTokenRefreshed {
                do {
                    try await onTokenRefreshed(credentials, token)
                } catch {
                    throw TokenRefreshError(isPermanent: false, message: "the refreshed token could not be saved: \(error)")
                }
            }
            let now = clockNow()
            let actions: [PoolAction] = storage.withLock { storage in
                storage.refreshes[id] = nil
                guard storage.machine.entries[id]?.credentialsGeneration == generation else { return [] }
                storage.tokens[id] = token.accessToken
                return storage.machine.tokenRefreshed(
                    account: id, expiresIn: token.expiresIn, rotatedRefreshToken: token.refreshToken, now: now, profileARN: token.profileARN)
            }
            logger.debug("token refreshed", metadata: ["account": "\(id)"])
            run(actions)
            return token.accessToken
        } catch let error as TokenRefreshError {
            let now = clockNow()
            let actions: [PoolAction] = storage.withLock { storage in
                storage.refreshes[id] = nil
                guard let entry = storage.machine.entries[id], entry.credentialsGeneration == generation else { return [] }
                let valid = storage.tokens[id] != nil && (entry.tokenExpiresAt.map { now < $0 } ?? false)
                return Self.discardingTokens(
                    storage.machine.tokenRefreshFailed(account: id, error: error, hasValidToken: valid, now: now), in: &storage)
            }
            logger.warning("token refresh failed", metadata: ["account": "\(id)", "error": "\(error.message)"])
            run(actions)
            throw error
        }
    }

    /// Keeps every account's token fresh even when idle: refreshes each one `refresh.before_expiry`
    /// (minus up to `refresh.jitter`) before its token expires, failed attempts rate-limited with
    /// backoff. Accounts that never had a token are left to their first request. Runs until cancelled.
    package func runRefreshLoop() async {
        while !Task.isCancelled {
            let now = clockNow()
            let (due, next, poll) = storage.withLock { storage in
                (
                    storage.machine.refreshesDue(now: now).filter { storage.refreshes[$0] == nil },
                    storage.machine.nextRefreshDue(),
                    storage.machine.configuration.refreshPollInterval
                )
            }
            if !due.isEmpty {
                await withTaskGroup(of: Void.self) { group in
                    for id in due {
                        group.addTask { _ = try? await self.refresh(id, force: false) }
                    }
                }
            }
            let after = clockNow()
            var wake = after + poll
            if let next, next < wake { wake = max(next, after + .seconds(1)) }
            do {
                try await clockSleep(wake)
            } catch {
                return
            }
        }
    }

    // MARK: - Reload and operator overrides

    /// Applies a reloaded account list (see ``AccountPoolState/update(accounts:now:)``).
    ///
    /// - Returns: The accounts whose token was discarded: removed, or their credentials changed (a saved token
    ///   was issued for the old ones and must not be restored).
    @discardableResult
    package func update(accounts: [AccountCredentials], configuration: PoolConfiguration? = nil) -> Set<String> {
        let now = clockNow()
        let actions = storage.withLock { storage in
            if let configuration { storage.machine.update(configuration: configuration) }
            return Self.discardingTokens(storage.machine.update(accounts: accounts, now: now), in: &storage)
        }
        run(actions)
        var discarded = Set<String>()
        for case .discardToken(let id) in actions { discarded.insert(id) }
        return discarded
    }

    /// An operator turns an account on or off. Returns false for an unknown account.
    @discardableResult
    package func setEnabled(_ id: String, enabled: Bool) -> Bool {
        let now = clockNow()
        guard let actions = storage.withLock({ $0.machine.setEnabled(id: id, enabled: enabled, now: now) }) else { return false }
        run(actions)
        return true
    }

    /// Restores a persisted status at start-up (the state store).
    package func restore(id: String, status: AccountStatus) {
        storage.withLock { $0.machine.restore(id: id, status: status) }
    }

    /// Restores an access token saved in the state directory, so a restart does not refresh every
    /// account at once. Ignored when the token has expired, the account is unknown or refreshing, or
    /// (`onlyIfNone`) the account holds a token already or its refresh was refused.
    package func restoreToken(id: String, accessToken: String, expiresAt: PoolInstant, onlyIfNone: Bool = false) {
        let now = clockNow()
        guard now < expiresAt else { return }
        storage.withLock { storage in
            guard let entry = storage.machine.entries[id], storage.refreshes[id] == nil else { return }
            if onlyIfNone, storage.tokens[id] != nil || entry.tokenExpiresAt != nil || entry.status.health == .refreshFailed { return }
            storage.tokens[id] = accessToken
            storage.machine.tokenRestored(account: id, expiresAt: expiresAt, now: now)
        }
    }

    private func run(_ actions: [PoolAction]) {
        for action in actions {
            switch action {
            case .persistStatus(let id, _, _):
                guard let onStatusChanged, let status = storage.withLock({ $0.machine.entries[id]?.status }) else { continue }
                onStatusChanged(id, status)
            case .log(let level, let message, let account):
                logger.log(level: level, "\(message)", metadata: ["account": "\(account)"])
            case .scheduleRefresh(let id):
                Task { [self] in _ = try? await self.refresh(id, force: true) }
            case .discardToken:
                break  // done under the lock, see discardingTokens(_:in:)
            }
        }
    }

    /// Drops the cached tokens the actions ask to discard, in the same critical section as the
    /// state change (so a token refreshed just after cannot be discarded by mistake).
    private static func discardingTokens(_ actions: [PoolAction], in storage: inout Storage) -> [PoolAction] {
        for case .discardToken(let id) in actions { storage.tokens[id] = nil }
        return actions
    }

    // MARK: - Status

    /// The profile ARN the account's requests name now: the configured one, else the one its last Kiro refresh
    /// returned (which a checkout made before that refresh does not hold yet).
    package func profileARN(for id: String) -> String? {
        storage.withLock { $0.machine.entries[id]?.credentials.effectiveProfileARN }
    }

    /// The enabled accounts that hold an unexpired access token now, with that token; no refresh is started.
    /// Model discovery uses it, so that asking an account for its models never costs a token refresh.
    package func accountsWithValidTokens() -> [(credentials: AccountCredentials, accessToken: String)] {
        let now = clockNow()
        return storage.withLock { storage in
            storage.machine.entries.compactMap { id, entry in
                guard entry.credentials.enabled, let token = storage.tokens[id], let expiresAt = entry.tokenExpiresAt, now < expiresAt
                else { return nil }
                return (entry.credentials, token)
            }
        }
    }

    package func snapshot() -> [AccountSnapshot] {
        let now = clockNow()
        return storage.withLock { storage in
            let tokens = storage.tokens
            return storage.machine.snapshot(now: now) { tokens[$0] != nil }
        }
    }

    /// Accounts a request could be sent through now.
    package var usableCount: Int {
        let now = clockNow()
        return storage.withLock { $0.machine.usableCount(now: now) }
    }

    package var totalCount: Int { storage.withLock { $0.machine.entries.count } }

    /// Why no account would be handed out now, or `nil` when one would: `.noneConfigured`,
    /// `.allCooling(retryAfter:)` (429 with `retry-after`) or `.noneUsable` (503/529).
    package func unavailability(excluding: Set<String> = []) -> CheckoutDecision? {
        let now = clockNow()
        return storage.withLock { storage in
            var probe = storage.machine
            switch probe.checkout(now: now, excluding: excluding) {
            case .account: return nil
            case let other: return other
            }
        }
    }

    /// The seconds until the earliest cooling account comes back, when every account is cooling.
    package var secondsUntilNextRecovery: Int? {
        guard case .allCooling(let retryAfter)? = unavailability() else { return nil }
        let (seconds, attoseconds) = retryAfter.components
        return Int(seconds) + (attoseconds > 0 ? 1 : 0)
    }
}
