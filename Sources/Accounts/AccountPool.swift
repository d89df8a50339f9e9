import Logging
import Synchronization

/// The accounts the server can use, their tokens and their health.
///
/// Selection is synchronous and hot, so the state sits behind a `Mutex` rather than in an
/// actor (no suspension points, no re-entrancy). Token refreshes are single-flight per
/// account: the first caller starts one `Task`, every concurrent caller awaits that task.
package final class AccountPool: Sendable {
    struct Entry: Sendable {
        var credentials: AccountCredentials
        var health: AccountHealth
        var accessToken: String?
        var expiresAt: ContinuousClock.Instant?
        var refresh: Task<String, any Error>?
        var inFlight = 0
        var successes = 0
        var failures = 0
        var lastError: String?
    }

    struct State: Sendable {
        var entries: [String: Entry] = [:]
        var order: [String] = []
        var roundRobin = 0
    }

    private let state: Mutex<State>
    private let refresher: TokenRefresher
    private let refreshMargin: Duration
    private let clock = ContinuousClock()
    private let logger: Logger

    package init(accounts: [AccountCredentials], refreshMargin: Duration = .seconds(300), refresher: @escaping TokenRefresher, logger: Logger) {
        var state = State()
        for account in accounts {
            state.entries[account.id] = Entry(credentials: account, health: account.enabled ? .active : .disabled)
            state.order.append(account.id)
        }
        self.state = Mutex(state)
        self.refresher = refresher
        self.refreshMargin = refreshMargin
        self.logger = logger
    }

    // MARK: - Selection

    /// Picks a usable account not in `excluding`, favouring the least busy, then by weight at random.
    package func checkout(excluding: Set<String> = []) -> AccountCredentials? {
        let now = clock.now
        return state.withLock { state -> AccountCredentials? in
            let candidates = state.order.compactMap { id -> Entry? in
                guard !excluding.contains(id), let entry = state.entries[id], entry.health.isUsable(at: now) else { return nil }
                return entry
            }
            guard !candidates.isEmpty else { return nil }
            let totalWeight = candidates.reduce(0) { $0 + max(1, $1.credentials.weight) }
            var pick = Int.random(in: 0..<totalWeight)
            var chosen = candidates[0]
            for candidate in candidates {
                pick -= max(1, candidate.credentials.weight)
                if pick < 0 {
                    chosen = candidate
                    break
                }
            }
            state.entries[chosen.credentials.id]?.inFlight += 1
            if case .cooling = chosen.health { state.entries[chosen.credentials.id]?.health = .active }
            return chosen.credentials
        }
    }

    /// Ends a checkout, recording the outcome.
    package func checkin(_ id: String, outcome: Outcome) {
        let now = clock.now
        state.withLock { state in
            guard var entry = state.entries[id] else { return }
            entry.inFlight = max(0, entry.inFlight - 1)
            switch outcome {
            case .success:
                entry.successes += 1
                if case .cooling = entry.health { entry.health = .active }
            case .cancelled:
                break
            case .failure(let kind, let message):
                entry.failures += 1
                entry.lastError = message
                switch kind {
                case .throttled(let retryAfter):
                    entry.health = .cooling(until: now + (retryAfter ?? .seconds(60)), reason: message)
                case .suspended:
                    entry.health = .suspended(reason: message)
                case .other:
                    break
                }
            }
            state.entries[id] = entry
        }
    }

    package enum Outcome: Sendable {
        case success
        case cancelled
        case failure(FailureKind, message: String)
    }

    package enum FailureKind: Sendable {
        case throttled(retryAfter: Duration?)
        case suspended
        case other
    }

    // MARK: - Tokens

    /// A valid access token for the account, refreshing it first when it is missing, near expiry,
    /// or equal to `rejected` (a token the upstream just called expired).
    package func accessToken(for id: String, rejected: String? = nil) async throws -> String {
        let now = clock.now
        let margin = refreshMargin
        let decision: Result<Task<String, any Error>, TokenRefreshError>? = state.withLock { state in
            guard var entry = state.entries[id] else {
                return .failure(TokenRefreshError(isPermanent: true, message: "unknown account \(id)"))
            }
            if let token = entry.accessToken, token != rejected, let expiresAt = entry.expiresAt, now + margin < expiresAt {
                return nil
            }
            if let running = entry.refresh { return .success(running) }
            let task = Task { [self] in try await self.performRefresh(id) }
            entry.refresh = task
            state.entries[id] = entry
            return .success(task)
        }
        switch decision {
        case nil:
            return state.withLock { $0.entries[id]?.accessToken ?? "" }
        case .failure(let error)?:
            throw error
        case .success(let task)?:
            return try await task.value
        }
    }

    private func performRefresh(_ id: String) async throws -> String {
        guard let credentials = state.withLock({ $0.entries[id]?.credentials }) else {
            throw TokenRefreshError(isPermanent: true, message: "unknown account \(id)")
        }
        do {
            let token = try await refresher(credentials)
            let expiresAt = clock.now + token.expiresIn
            state.withLock { state in
                state.entries[id]?.accessToken = token.accessToken
                state.entries[id]?.expiresAt = expiresAt
                if let rotated = token.refreshToken { state.entries[id]?.credentials.refreshToken = rotated }
                state.entries[id]?.refresh = nil
                if case .refreshFailed? = state.entries[id]?.health { state.entries[id]?.health = .active }
            }
            logger.debug("token refreshed", metadata: ["account": "\(id)"])
            return token.accessToken
        } catch {
            state.withLock { state in
                state.entries[id]?.refresh = nil
                state.entries[id]?.lastError = error.message
                if error.isPermanent { state.entries[id]?.health = .refreshFailed(reason: error.message) }
            }
            logger.warning("token refresh failed", metadata: ["account": "\(id)", "error": "\(error.message)"])
            throw error
        }
    }

    // MARK: - Status

    package struct Snapshot: Sendable {
        package var id: String
        package var label: String
        package var health: AccountHealth
        package var inFlight: Int
        package var successes: Int
        package var failures: Int
        package var tokenValid: Bool
        package var lastError: String?
    }

    package func snapshot() -> [Snapshot] {
        let now = clock.now
        return state.withLock { state in
            state.order.compactMap { id in
                guard let entry = state.entries[id] else { return nil }
                return Snapshot(
                    id: id, label: entry.credentials.label, health: entry.health, inFlight: entry.inFlight, successes: entry.successes,
                    failures: entry.failures, tokenValid: entry.expiresAt.map { now < $0 } ?? false, lastError: entry.lastError)
            }
        }
    }

    package var usableCount: Int {
        let now = clock.now
        return state.withLock { state in state.entries.values.filter { $0.health.isUsable(at: now) }.count }
    }

    package var totalCount: Int { state.withLock { $0.entries.count } }

    /// The earliest time a cooling account becomes usable, for `retry-after`.
    package var secondsUntilNextRecovery: Int? {
        let now = clock.now
        return state.withLock { state in
            state.entries.values.compactMap { entry -> Int? in
                guard case .cooling(let until, _) = entry.health else { return nil }
                let seconds = (until - now).components.seconds
                return max(1, Int(seconds) + 1)
            }.min()
        }
    }
}
