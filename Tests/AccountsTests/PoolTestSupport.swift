import Accounts
import ProxyConfig
import Synchronization

/// 2025-06-15T15:06:40Z.
let t0 = PoolInstant(secondsSince1970: 1_750_000_000)

func account(_ id: String, tier: Int = 0, weight: Int = 1, enabled: Bool = true, refreshToken: String = "rt") -> AccountCredentials {
    AccountCredentials(
        id: id, label: id.uppercased(), clientID: "client-\(id)", clientSecret: "secret-\(id)", refreshToken: refreshToken, enabled: enabled,
        weight: weight, tier: tier)
}

func makeState(_ accounts: [AccountCredentials], _ configuration: PoolConfiguration = .init(), seed: UInt64 = 42) -> AccountPoolState {
    AccountPoolState(accounts: accounts, configuration: configuration, random: PoolRandom(seed: seed), now: t0)
}

extension CheckoutDecision {
    var id: String? {
        if case .account(let credentials) = self { return credentials.id }
        return nil
    }
}

extension AccountPoolState {
    func health(_ id: String) -> AccountHealth? { entries[id]?.status.health }
    func status(_ id: String) -> AccountStatus? { entries[id]?.status }

    /// Checks out and immediately records, returning the chosen id.
    mutating func use(_ outcome: CheckoutOutcome = .success, now: PoolInstant = t0, sessionKey: String? = nil) -> String? {
        guard let id = checkout(now: now, sessionKey: sessionKey).id else { return nil }
        _ = record(outcome, account: id, now: now)
        return id
    }
}

func persisted(_ actions: [PoolAction]) -> [String] {
    actions.compactMap {
        if case .persistStatus(let id, let health, _) = $0 { return "\(id):\(health.name)" }
        return nil
    }
}

/// Counts refresher calls; each call can be held at a gate until the test opens it.
final class FakeRefresher: Sendable {
    struct State {
        var calls: [AccountCredentials] = []
        var open = true
        var waiters: [CheckedContinuation<Void, Never>] = []
        var failure: TokenRefreshError?
        var lifetime: Duration = .seconds(3600)
        var rotate = false
        var events: [String] = []
    }

    let state = Mutex(State())

    var callCount: Int { state.withLock { $0.calls.count } }
    var calls: [AccountCredentials] { state.withLock { $0.calls } }
    var events: [String] { state.withLock { $0.events } }

    func close() { state.withLock { $0.open = false } }

    func open() {
        let waiters = state.withLock { state in
            state.open = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func fail(with error: TokenRefreshError?) { state.withLock { $0.failure = error } }
    func note(_ event: String) { state.withLock { $0.events.append(event) } }

    var refresher: TokenRefresher {
        { [self] credentials throws(TokenRefreshError) in
            let number = state.withLock { state in
                state.calls.append(credentials)
                return state.calls.count
            }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let proceed = state.withLock { state in
                    if state.open { return true }
                    state.waiters.append(continuation)
                    return false
                }
                if proceed { continuation.resume() }
            }
            let (failure, lifetime, rotate) = state.withLock { ($0.failure, $0.lifetime, $0.rotate) }
            if let failure { throw failure }
            note("refreshed \(number)")
            return RefreshedToken(accessToken: "at-\(number)", expiresIn: lifetime, refreshToken: rotate ? "rt-\(number)" : nil)
        }
    }
}
