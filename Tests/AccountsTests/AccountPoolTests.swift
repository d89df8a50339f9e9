import Accounts
import ProxyConfig
import Synchronization
import Testing

@Suite("Account pool: tokens and clock")
struct AccountPoolTests {
    func makePool(
        _ accounts: [AccountCredentials] = [account("a")], refresher: FakeRefresher, clock: ManualClock = ManualClock(),
        configuration: PoolConfiguration = .init(), hook: TokenRefreshedHook? = nil, statuses: StatusLog? = nil
    ) -> AccountPool {
        var statusHook: AccountStatusHook?
        if let statuses {
            statusHook = { id, status in statuses.append("\(id):\(status.health.name)") }
        }
        return AccountPool(
            accounts: accounts, configuration: configuration, refresher: refresher.refresher, onTokenRefreshed: hook,
            onStatusChanged: statusHook,
            clock: clock, wallClock: { t0 }, random: PoolRandom(seed: 7))
    }

    @Test func burstOfFiftyCausesExactlyOneRefresh() async throws {
        let refresher = FakeRefresher()
        refresher.close()
        let pool = makePool(refresher: refresher)
        let tokens = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<50 { group.addTask { try await pool.accessToken(for: "a") } }
            #expect(await eventually { refresher.callCount == 1 })
            try await Task.sleep(for: .milliseconds(50))
            refresher.open()
            var tokens: [String] = []
            for try await token in group { tokens.append(token) }
            return tokens
        }
        #expect(refresher.callCount == 1)
        #expect(tokens.count == 50 && Set(tokens) == ["at-1"])
        // The cached token is reused afterwards.
        #expect(try await pool.accessToken(for: "a") == "at-1")
        #expect(refresher.callCount == 1)
    }

    @Test func rejectedOrNearlyExpiredTokenIsRefreshed() async throws {
        let refresher = FakeRefresher()
        let clock = ManualClock()
        let pool = makePool(refresher: refresher, clock: clock)
        let first = try await pool.accessToken(for: "a")
        #expect(try await pool.accessToken(for: "a", rejected: first) == "at-2")
        // A stale rejection (a token already replaced) does not refresh again.
        #expect(try await pool.accessToken(for: "a", rejected: first) == "at-2")
        clock.advance(by: .seconds(3600 - 300))
        #expect(try await pool.accessToken(for: "a") == "at-3")
        #expect(refresher.callCount == 3)
        #expect(pool.snapshot()[0].tokenExpiresAt == t0 + .seconds(3300 + 3600))
    }

    @Test func failedRefreshesAreRateLimited() async throws {
        let refresher = FakeRefresher()
        refresher.fail(with: TokenRefreshError(isPermanent: false, message: "timeout"))
        let clock = ManualClock()
        let statuses = StatusLog()
        let pool = makePool(refresher: refresher, clock: clock, statuses: statuses)
        await #expect(throws: TokenRefreshError(isPermanent: false, message: "timeout")) { try await pool.accessToken(for: "a") }
        #expect(pool.snapshot()[0].health.name == "cooling")
        #expect(statuses.items == ["a:cooling"])
        clock.advance(by: .seconds(20))
        await #expect(throws: TokenRefreshError.self) { try await pool.accessToken(for: "a") }
        #expect(refresher.callCount == 1)
        clock.advance(by: .seconds(15))
        refresher.fail(with: nil)
        #expect(try await pool.accessToken(for: "a") == "at-2")
        #expect(refresher.callCount == 2)
        #expect(pool.snapshot()[0].health == .active)
        #expect(statuses.items == ["a:cooling", "a:active"])
    }

    @Test func permanentFailureAndOperatorRefresh() async throws {
        let refresher = FakeRefresher()
        refresher.fail(with: TokenRefreshError(isPermanent: true, message: "invalid_grant"))
        let pool = makePool(refresher: refresher)
        await #expect(throws: TokenRefreshError.self) { try await pool.accessToken(for: "a") }
        #expect(pool.snapshot()[0].health == .refreshFailed)
        #expect(pool.checkout() == .noneUsable)
        refresher.fail(with: nil)
        #expect(try await pool.refresh("a") == "at-2")
        #expect(pool.snapshot()[0].health == .active)
        #expect(pool.checkout().id == "a")
    }

    @Test func rotatedRefreshTokenIsUsedNext() async throws {
        let refresher = FakeRefresher()
        refresher.state.withLock { $0.rotate = true }
        let pool = makePool(refresher: refresher)
        let first = try await pool.accessToken(for: "a")
        _ = try await pool.accessToken(for: "a", rejected: first)
        #expect(refresher.calls.map(\.refreshToken) == ["rt", "rt-1"])
    }

    @Test func persistHookRunsBeforeTheTokenIsUsed() async throws {
        let refresher = FakeRefresher()
        let hook: TokenRefreshedHook = { account, token in
            refresher.note("persist \(account.id) \(token.refreshToken ?? "-")")
        }
        refresher.state.withLock { $0.rotate = true }
        let pool = makePool(refresher: refresher, hook: hook)
        let token = try await pool.accessToken(for: "a")
        refresher.note("used \(token)")
        #expect(refresher.events == ["refreshed 1", "persist a rt-1", "used at-1"])
    }

    @Test func throwingPersistHookMeansTheTokenIsNotUsed() async throws {
        struct DiskFull: Error {}
        let refresher = FakeRefresher()
        refresher.state.withLock { $0.rotate = true }
        let failing = Mutex(true)
        let hook: TokenRefreshedHook = { _, _ in
            if failing.withLock({ $0 }) { throw DiskFull() }
        }
        let clock = ManualClock()
        let pool = makePool(refresher: refresher, clock: clock, hook: hook)
        await #expect(throws: TokenRefreshError.self) { try await pool.accessToken(for: "a") }
        #expect(pool.snapshot()[0].tokenExpiresAt == nil)
        #expect(!pool.snapshot()[0].tokenValid)
        failing.withLock { $0 = false }
        clock.advance(by: .seconds(40))
        #expect(try await pool.accessToken(for: "a") == "at-2")
        // The rotated token that could not be saved was never adopted.
        #expect(refresher.calls.map(\.refreshToken) == ["rt", "rt"])
    }

    @Test func backgroundRefreshHappensBeforeExpiryWhenIdle() async throws {
        let refresher = FakeRefresher()
        let clock = ManualClock()
        let pool = makePool(
            refresher: refresher, clock: clock,
            configuration: PoolConfiguration(refreshBeforeExpiry: .seconds(300), refreshJitter: .seconds(30), refreshPollInterval: .seconds(30)))
        _ = try await pool.accessToken(for: "a")
        let loop = Task { await pool.runRefreshLoop() }
        defer { loop.cancel() }
        // Idle for most of the token's life: no refresh yet.
        var elapsed: Duration = .zero
        while elapsed < .seconds(3240) {
            #expect(await eventually { clock.sleeperCount == 1 })
            clock.advance(by: .seconds(30))
            elapsed += .seconds(30)
        }
        #expect(await eventually { clock.sleeperCount == 1 })
        #expect(refresher.callCount == 1)
        // Within before_expiry + jitter of the expiry, the loop refreshes by itself.
        while refresher.callCount < 2 && elapsed < .seconds(3300) {
            #expect(await eventually { clock.sleeperCount == 1 })
            clock.advance(by: .seconds(10))
            elapsed += .seconds(10)
            _ = await eventually(timeout: .milliseconds(200)) { refresher.callCount == 2 }
        }
        #expect(refresher.callCount == 2)
        #expect(elapsed > .seconds(3260) && elapsed <= .seconds(3300))
        #expect(try await pool.accessToken(for: "a") == "at-2")
        loop.cancel()
        await loop.value
    }

    @Test func backgroundRefreshFailuresAreRateLimited() async throws {
        let refresher = FakeRefresher()
        let clock = ManualClock()
        let pool = makePool(refresher: refresher, clock: clock)
        _ = try await pool.accessToken(for: "a")
        refresher.fail(with: TokenRefreshError(isPermanent: false, message: "503"))
        clock.advance(by: .seconds(3300))
        let loop = Task { await pool.runRefreshLoop() }
        #expect(await eventually { refresher.callCount == 2 })
        // Ten polls in the next 29 s: no new attempt.
        for _ in 0..<29 {
            #expect(await eventually { clock.sleeperCount == 1 })
            clock.advance(by: .seconds(1))
        }
        #expect(await eventually { clock.sleeperCount == 1 })
        #expect(refresher.callCount == 2)
        // The old token is still valid: the account keeps serving meanwhile.
        #expect(pool.snapshot()[0].health == .active)
        #expect(try await pool.accessToken(for: "a") == "at-1")
        clock.advance(by: .seconds(10))
        #expect(await eventually { refresher.callCount == 3 })
        loop.cancel()
        await loop.value
    }

    @Test func coolingAccountComesBackWithTheClock() {
        let clock = ManualClock()
        let pool = makePool([account("a"), account("b")], refresher: FakeRefresher(), clock: clock)
        #expect(pool.totalCount == 2 && pool.usableCount == 2)
        for id in ["a", "b"] {
            guard case .account = pool.checkout(excluding: id == "a" ? ["b"] : ["a"]) else { Issue.record("no account"); return }
            pool.checkin(id, outcome: .failure(.throttled(retryAfter: .seconds(30 + (id == "a" ? 10 : 0))), message: "429"))
        }
        #expect(pool.usableCount == 0)
        #expect(pool.checkout() == .allCooling(retryAfter: .seconds(30)))
        #expect(pool.unavailability() == .allCooling(retryAfter: .seconds(30)))
        #expect(pool.secondsUntilNextRecovery == 30)
        clock.advance(by: .seconds(30))
        #expect(pool.unavailability() == nil)
        #expect(pool.checkout(sessionKey: "s").id == "b")
        pool.checkin("b", outcome: .success)
        #expect(pool.snapshot().map(\.health.name) == ["cooling", "active"])
    }

    @Test func reloadAndOperatorThroughThePool() async throws {
        let refresher = FakeRefresher()
        let pool = makePool([account("a")], refresher: refresher)
        _ = try await pool.accessToken(for: "a")
        pool.update(accounts: [account("a"), account("b")], configuration: PoolConfiguration(strategy: .roundRobin))
        #expect(pool.snapshot().map(\.id) == ["a", "b"])
        #expect(pool.snapshot()[0].tokenValid)
        #expect(pool.setEnabled("a", enabled: false))
        #expect(!pool.setEnabled("zzz", enabled: false))
        #expect(pool.checkout().id == "b")
        // New credentials discard the cached token.
        pool.update(accounts: [account("a", refreshToken: "new"), account("b")])
        #expect(!pool.snapshot()[0].tokenValid)
        #expect(try await pool.accessToken(for: "a") == "at-2")
        #expect(refresher.calls.last?.refreshToken == "new")
    }
}

final class StatusLog: Sendable {
    private let storage = Mutex<[String]>([])
    var items: [String] { storage.withLock { $0 } }
    func append(_ item: String) { storage.withLock { $0.append(item) } }
}
