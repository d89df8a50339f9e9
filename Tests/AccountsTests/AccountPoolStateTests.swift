import Accounts
import ProxyConfig
import Testing

@Suite("Account pool state: health transitions")
struct AccountPoolStateTransitionTests {
    @Test func emptyPoolIsNoneConfigured() {
        var state = makeState([])
        #expect(state.checkout(now: t0) == .noneConfigured)
    }

    @Test func throttlingCoolsThenProbesOnceThenRecovers() {
        var state = makeState([account("a")])
        #expect(state.checkout(now: t0).id == "a")
        let actions = state.record(.failure(.throttled(retryAfter: nil), message: "429"), account: "a", now: t0)
        #expect(persisted(actions) == ["a:cooling"])
        guard case .cooling(let until)? = state.health("a") else { Issue.record("not cooling"); return }
        #expect(until - t0 >= .seconds(10) && until - t0 < .seconds(12))
        #expect(state.status("a")?.reason == "429")
        #expect(state.status("a")?.lastError == "429")

        // Before `until`: nothing to hand out, with the time left.
        guard case .allCooling(let retryAfter) = state.checkout(now: t0 + .seconds(5)) else { Issue.record("expected allCooling"); return }
        #expect(retryAfter == until - (t0 + .seconds(5)))
        #expect(state.usableCount(now: t0 + .seconds(5)) == 0)

        // At `until`: exactly one probe at a time.
        #expect(state.checkout(now: until).id == "a")
        #expect(state.checkout(now: until) == .allCooling(retryAfter: .seconds(1)))
        let recovered = state.record(.success, account: "a", now: until + .seconds(1))
        #expect(persisted(recovered) == ["a:active"])
        #expect(state.status("a")?.since == until + .seconds(1))
        #expect(state.checkout(now: until + .seconds(1)).id == "a")
        #expect(state.checkout(now: until + .seconds(1)).id == "a")
    }

    @Test func failedProbeEscalatesBackoff() {
        var state = makeState([account("a")])
        _ = state.use(.failure(.throttled(retryAfter: nil), message: "429"))
        let first = state.health("a")!.until!
        _ = state.use(.failure(.throttled(retryAfter: nil), message: "429"), now: first)
        let second = state.health("a")!.until!
        #expect(second - first >= .seconds(20) && second - first < .seconds(24))
        // A success resets the sequence.
        _ = state.use(.success, now: second)
        _ = state.use(.failure(.throttled(retryAfter: nil), message: "429"), now: second)
        let third = state.health("a")!.until!
        #expect(third - second < .seconds(12))
    }

    @Test func throttlesOfRequestsAlreadyInFlightDoNotEscalate() {
        var state = makeState([account("a")])
        #expect(state.checkout(now: t0).id == "a")
        #expect(state.checkout(now: t0).id == "a")
        #expect(state.checkout(now: t0).id == "a")
        _ = state.record(.failure(.throttled(retryAfter: nil), message: "429"), account: "a", now: t0)
        _ = state.record(.failure(.throttled(retryAfter: nil), message: "429"), account: "a", now: t0)
        #expect(state.health("a")!.until! - t0 < .seconds(12))
        // …but a longer hint from one of them is still honoured.
        _ = state.record(.failure(.throttled(retryAfter: .seconds(30)), message: "429"), account: "a", now: t0)
        #expect(state.health("a") == .cooling(until: t0 + .seconds(30)))
        #expect(state.entries["a"]?.inFlight == 0)
    }

    @Test func retryHintIsHonoured() {
        var state = makeState([account("a")])
        _ = state.use(.failure(.throttled(retryAfter: .seconds(90)), message: "slow down"))
        #expect(state.health("a") == .cooling(until: t0 + .seconds(90)))
        #expect(state.checkout(now: t0 + .seconds(89)) == .allCooling(retryAfter: .seconds(1)))
    }

    @Test func quotaExhaustedUntilNextMonthThenProbed() {
        var state = makeState([account("a")])
        _ = state.use(.failure(.quotaExhausted, message: "monthly limit"))
        let reset = PoolInstant(secondsSince1970: PoolInstant.days(fromCivil: 2025, 7, 1) * 86_400)
        #expect(state.health("a") == .quotaExhausted(until: reset))
        #expect(state.checkout(now: t0 + .seconds(86_400)) == .noneUsable)
        #expect(state.checkout(now: reset).id == "a")
        _ = state.record(.success, account: "a", now: reset)
        #expect(state.health("a") == .active)
    }

    @Test func suspensionNeedsOperatorOrConfigChange() {
        var state = makeState([account("a"), account("b")])
        _ = state.checkout(now: t0, excluding: ["b"])
        _ = state.record(.failure(.suspended, message: "suspended"), account: "a", now: t0)
        #expect(state.health("a") == .suspended)
        #expect(state.checkout(now: t0 + .seconds(1_000_000), excluding: ["b"]) == .noneUsable)
        // A success of an unrelated request must not revive it.
        _ = state.record(.success, account: "a", now: t0)
        #expect(state.health("a") == .suspended)

        #expect(persisted(state.setEnabled(id: "a", enabled: true, now: t0 + .seconds(5))!) == ["a:active"])

        _ = state.record(.failure(.suspended, message: "suspended"), account: "a", now: t0)
        let unchanged = state.update(accounts: [account("a"), account("b")], now: t0)
        #expect(unchanged.isEmpty)
        #expect(state.health("a") == .suspended)
        let changed = state.update(accounts: [account("a", refreshToken: "new"), account("b")], now: t0)
        #expect(state.health("a") == .active)
        #expect(changed.contains(.scheduleRefresh(id: "a")))
        #expect(changed.contains(.discardToken(id: "a")))
    }

    @Test func permanentRefreshFailure() {
        var state = makeState([account("a")])
        _ = state.tokenRefreshed(account: "a", expiresIn: .seconds(3600), rotatedRefreshToken: nil, now: t0)
        let actions = state.tokenRefreshFailed(
            account: "a", error: TokenRefreshError(isPermanent: true, message: "invalid_grant"), hasValidToken: true, now: t0)
        #expect(persisted(actions) == ["a:refresh_failed"])
        #expect(actions.contains(.discardToken(id: "a")))
        #expect(state.status("a")?.reason == "invalid_grant")
        #expect(state.checkout(now: t0 + .seconds(10_000)) == .noneUsable)
        #expect(state.refreshesDue(now: t0 + .seconds(100_000)).isEmpty)
        // An operator's successful refresh brings it back.
        #expect(persisted(state.tokenRefreshed(account: "a", expiresIn: .seconds(3600), rotatedRefreshToken: "rt2", now: t0)) == ["a:active"])
        #expect(state.entries["a"]?.credentials.refreshToken == "rt2")
    }

    @Test func transientRefreshFailureWithoutTokenCoolsAndRateLimits() {
        var state = makeState([account("a")])
        let error = TokenRefreshError(isPermanent: false, message: "timeout")
        #expect(state.refreshAllowed(account: "a", now: t0))
        _ = state.tokenRefreshFailed(account: "a", error: error, hasValidToken: false, now: t0)
        guard case .cooling(let until)? = state.health("a") else { Issue.record("not cooling"); return }
        #expect(until - t0 >= .seconds(30) && until - t0 < .seconds(33))
        #expect(!state.refreshAllowed(account: "a", now: t0 + .seconds(29)))
        #expect(state.refreshAllowed(account: "a", now: until))
        #expect(state.lastRefreshError(account: "a") == error)
        // A second failure backs off further.
        _ = state.tokenRefreshFailed(account: "a", error: error, hasValidToken: false, now: until)
        #expect(!state.refreshAllowed(account: "a", now: until + .seconds(59)))
        // The refresh succeeding ends the cooling at once.
        #expect(persisted(state.tokenRefreshed(account: "a", expiresIn: .seconds(3600), rotatedRefreshToken: nil, now: until)) == ["a:active"])
        #expect(state.refreshAllowed(account: "a", now: until))
    }

    @Test func transientRefreshFailureWithValidTokenKeepsServing() {
        var state = makeState([account("a")])
        _ = state.tokenRefreshed(account: "a", expiresIn: .seconds(3600), rotatedRefreshToken: nil, now: t0)
        let actions = state.tokenRefreshFailed(
            account: "a", error: TokenRefreshError(isPermanent: false, message: "timeout"), hasValidToken: true, now: t0 + .seconds(3300))
        #expect(persisted(actions).isEmpty)
        #expect(state.health("a") == .active)
        #expect(state.status("a")?.lastError == "token refresh failed: timeout")
    }

    @Test func disabledByConfigAndOperator() {
        var state = makeState([account("a", enabled: false), account("b")])
        #expect(state.health("a") == .disabled(.config))
        #expect(state.checkout(now: t0, excluding: ["b"]) == .noneUsable)
        #expect(persisted(state.update(accounts: [account("a"), account("b")], now: t0)) == ["a:active"])
        #expect(persisted(state.setEnabled(id: "a", enabled: false, now: t0)!) == ["a:disabled"])
        #expect(state.health("a") == .disabled(.operator))
        #expect(state.checkout(now: t0, excluding: ["b"]) == .noneUsable)
        #expect(persisted(state.setEnabled(id: "a", enabled: true, now: t0)!) == ["a:active"])
        #expect(state.setEnabled(id: "nobody", enabled: true, now: t0) == nil)
        // The config turning it off wins over everything.
        _ = state.update(accounts: [account("a", enabled: false), account("b")], now: t0)
        #expect(state.health("a") == .disabled(.config))
    }

    @Test func autoDisableAfterMaxErrorsInWindowAndResetOnSuccess() {
        var state = makeState([account("a")], PoolConfiguration(maxErrors: 3, errorWindow: .seconds(60)))
        let failure = CheckoutOutcome.failure(.other, message: "502")
        _ = state.use(failure, now: t0)
        _ = state.use(failure, now: t0 + .seconds(1))
        _ = state.use(.success, now: t0 + .seconds(2))
        _ = state.use(failure, now: t0 + .seconds(3))
        _ = state.use(failure, now: t0 + .seconds(4))
        #expect(state.health("a") == .active)
        // Failures older than the window do not count.
        _ = state.use(failure, now: t0 + .seconds(70))
        #expect(state.health("a") == .active)
        _ = state.use(failure, now: t0 + .seconds(71))
        #expect(state.health("a") == .active)
        guard let id = state.checkout(now: t0 + .seconds(72)).id else { Issue.record("no account"); return }
        let actions = state.record(failure, account: id, now: t0 + .seconds(72))
        #expect(persisted(actions) == ["a:disabled"])
        #expect(state.health("a") == .disabled(.errors))
        #expect(state.status("a")?.reason == "3 failures within 1m")
        #expect(state.checkout(now: t0 + .seconds(100_000)) == .noneUsable)
        _ = state.setEnabled(id: "a", enabled: true, now: t0 + .seconds(80))
        #expect(state.health("a") == .active)
    }

    @Test func throttlingDoesNotCountTowardsAutoDisable() {
        var state = makeState([account("a")], PoolConfiguration(maxErrors: 2, errorWindow: .seconds(600)))
        var now = t0
        for _ in 0..<5 {
            _ = state.use(.failure(.throttled(retryAfter: nil), message: "429"), now: now)
            now = state.health("a")!.until!
        }
        if case .cooling = state.health("a") {} else { Issue.record("expected cooling, got \(String(describing: state.health("a")))") }
    }

    @Test func allCoolingVersusNoneUsable() {
        var state = makeState([account("a"), account("b"), account("c")])
        _ = state.checkout(now: t0, excluding: ["b", "c"])
        _ = state.record(.failure(.throttled(retryAfter: .seconds(40)), message: "429"), account: "a", now: t0)
        _ = state.checkout(now: t0, excluding: ["a", "c"])
        _ = state.record(.failure(.throttled(retryAfter: .seconds(20)), message: "429"), account: "b", now: t0)
        _ = state.checkout(now: t0, excluding: ["a", "b"])
        _ = state.record(.failure(.suspended, message: "suspended"), account: "c", now: t0)
        #expect(state.checkout(now: t0) == .allCooling(retryAfter: .seconds(20)))
        // Excluded accounts are not candidates.
        #expect(state.checkout(now: t0, excluding: ["b"]) == .allCooling(retryAfter: .seconds(40)))
        #expect(state.checkout(now: t0, excluding: ["a", "b"]) == .noneUsable)
    }

    @Test func snapshotCarriesStatusAndCounters() {
        var state = makeState([account("a", tier: 1, weight: 3)])
        _ = state.use(.success)
        _ = state.use(.failure(.other, message: "boom"), now: t0 + .seconds(1))
        _ = state.tokenRefreshed(account: "a", expiresIn: .seconds(600), rotatedRefreshToken: nil, now: t0)
        _ = state.checkout(now: t0)
        let row = state.snapshot(now: t0 + .seconds(2), hasToken: { _ in true })[0]
        #expect(row.id == "a" && row.label == "A" && row.tier == 1 && row.weight == 3)
        #expect(row.health == .active && row.status.health.name == "active")
        #expect(row.successes == 1 && row.failures == 1 && row.inFlight == 1)
        #expect(row.status.lastError == "boom" && row.status.lastErrorAt == t0 + .seconds(1))
        #expect(row.tokenExpiresAt == t0 + .seconds(600) && row.tokenValid)
        #expect(!state.snapshot(now: t0 + .seconds(601), hasToken: { _ in true })[0].tokenValid)
    }

    @Test func restoredStatusIsKept() {
        var state = makeState([account("a"), account("b", enabled: false)])
        state.restore(id: "a", status: AccountStatus(health: .suspended, reason: "persisted", since: t0 - .seconds(10)))
        state.restore(id: "b", status: AccountStatus(health: .active, since: t0))
        #expect(state.health("a") == .suspended)
        #expect(state.health("b") == .disabled(.config))
    }
}

@Suite("Account pool state: selection")
struct AccountPoolStateSelectionTests {
    func counts(_ strategy: PoolConfiguration.Strategy, _ accounts: [AccountCredentials], picks: Int = 4000) -> [String: Int] {
        var state = makeState(accounts, PoolConfiguration(strategy: strategy))
        var counts: [String: Int] = [:]
        for _ in 0..<picks {
            guard let id = state.use() else { break }
            counts[id, default: 0] += 1
        }
        return counts
    }

    @Test func randomIsRoughlyUniform() {
        let counts = counts(.random, [account("a"), account("b"), account("c"), account("d", weight: 10)])
        for id in ["a", "b", "c", "d"] {
            #expect((850...1150).contains(counts[id] ?? 0), "\(id): \(counts[id] ?? 0)")
        }
    }

    @Test func weightedFollowsWeights() {
        let counts = counts(.weighted, [account("a", weight: 1), account("b", weight: 3)])
        #expect((850...1150).contains(counts["a"] ?? 0), "a: \(counts["a"] ?? 0)")
        #expect((2850...3150).contains(counts["b"] ?? 0), "b: \(counts["b"] ?? 0)")
    }

    @Test func roundRobinCyclesInOrderSkippingUnusable() {
        var state = makeState([account("a"), account("b"), account("c")], PoolConfiguration(strategy: .roundRobin))
        let order = (0..<6).map { _ in state.use()! }
        #expect(order == ["a", "b", "c", "a", "b", "c"])
        _ = state.setEnabled(id: "b", enabled: false, now: t0)
        #expect((0..<4).map { _ in state.use()! } == ["a", "c", "a", "c"])
    }

    @Test func leastInflightPicksTheIdlest() {
        var state = makeState([account("a"), account("b"), account("c")], PoolConfiguration(strategy: .leastInflight))
        // Three concurrent requests land on three different accounts.
        let held = (0..<3).map { _ in state.checkout(now: t0).id! }
        #expect(Set(held) == ["a", "b", "c"])
        _ = state.record(.success, account: "b", now: t0)
        #expect(state.checkout(now: t0).id == "b")
        #expect(Set((0..<3).map { _ in state.checkout(now: t0).id! }) == ["a", "b", "c"])
        // Ties break at random, not always to the first account.
        let counts = counts(.leastInflight, [account("a"), account("b")], picks: 1000)
        #expect((400...600).contains(counts["a"] ?? 0))
    }

    @Test func tiersFillFirstAndSpillWhenNoneUsable() {
        var state = makeState([account("backup", tier: 1), account("a", tier: 0), account("b", tier: 0)])
        for _ in 0..<50 { #expect(state.use() != "backup") }
        _ = state.checkout(now: t0, excluding: ["b", "backup"])
        _ = state.record(.failure(.throttled(retryAfter: .seconds(60)), message: "429"), account: "a", now: t0)
        for _ in 0..<20 { #expect(state.use() == "b") }
        _ = state.checkout(now: t0, excluding: ["a", "backup"])
        _ = state.record(.failure(.suspended, message: "x"), account: "b", now: t0)
        #expect(state.use() == "backup")
        // A tier-0 account coming back takes over again.
        #expect(state.use(now: t0 + .seconds(60)) == "a")
        #expect(state.use(now: t0 + .seconds(61)) == "a")
        // Spill also happens within one request's failover.
        #expect(state.checkout(now: t0 + .seconds(61), excluding: ["a"]).id == "backup")
    }
}

@Suite("Account pool state: session affinity")
struct AccountPoolStateAffinityTests {
    @Test func sessionSticksToOneAccount() {
        var state = makeState([account("a"), account("b"), account("c"), account("d")])
        let first = state.use(sessionKey: "s1")!
        for i in 1...50 { #expect(state.use(now: t0 + .seconds(i), sessionKey: "s1") == first) }
        #expect(state.boundAccount(for: "s1", now: t0) == first)
    }

    @Test func singleTransientErrorDoesNotMoveTheSession() {
        var state = makeState([account("a"), account("b"), account("c")])
        let bound = state.checkout(now: t0, sessionKey: "s").id!
        _ = state.record(.failure(.other, message: "502"), account: bound, now: t0)
        // Failover for this request goes elsewhere…
        let other = state.checkout(now: t0, sessionKey: "s", excluding: [bound]).id!
        #expect(other != bound)
        _ = state.record(.success, account: other, now: t0)
        // …but the next request returns to the bound account.
        #expect(state.boundAccount(for: "s", now: t0) == bound)
        #expect(state.use(now: t0 + .seconds(1), sessionKey: "s") == bound)
    }

    @Test func sessionMovesWhenItsAccountBecomesUnusable() {
        var state = makeState([account("a"), account("b"), account("c")])
        let bound = state.use(sessionKey: "s")!
        _ = state.checkout(now: t0, excluding: Set(["a", "b", "c"]).subtracting([bound]))
        _ = state.record(.failure(.throttled(retryAfter: .seconds(300)), message: "429"), account: bound, now: t0)
        let moved = state.use(now: t0 + .seconds(1), sessionKey: "s")!
        #expect(moved != bound)
        #expect(state.boundAccount(for: "s", now: t0 + .seconds(1)) == moved)
        // It stays on the new account even after the old one recovers.
        #expect(state.use(now: t0 + .seconds(400), sessionKey: "s") == moved)
    }

    @Test func bindingExpiresAfterTTL() {
        var state = makeState([account("a"), account("b")], PoolConfiguration(affinityTTL: .seconds(60)))
        _ = state.use(sessionKey: "s")
        #expect(state.boundAccount(for: "s", now: t0 + .seconds(59)) != nil)
        #expect(state.boundAccount(for: "s", now: t0 + .seconds(60)) == nil)
        // Use slides the TTL.
        _ = state.use(now: t0 + .seconds(50), sessionKey: "s")
        #expect(state.boundAccount(for: "s", now: t0 + .seconds(100)) != nil)
    }

    @Test func bindingMapIsBounded() {
        var state = makeState([account("a"), account("b")], PoolConfiguration(maxAffinityEntries: 100))
        for i in 0..<1000 { _ = state.use(now: t0 + .milliseconds(i), sessionKey: "s\(i)") }
        #expect(state.affinityCount <= 100)
        // The most recent sessions survive, the oldest are gone.
        #expect(state.boundAccount(for: "s999", now: t0 + .seconds(1)) != nil)
        #expect(state.boundAccount(for: "s0", now: t0 + .seconds(1)) == nil)
    }

    @Test func sessionOnRemovedAccountRebinds() {
        var state = makeState([account("a"), account("b")])
        let bound = state.use(sessionKey: "s")!
        let remaining = bound == "a" ? "b" : "a"
        _ = state.update(accounts: [account(remaining)], now: t0)
        #expect(state.use(sessionKey: "s") == remaining)
        #expect(state.boundAccount(for: "s", now: t0) == remaining)
    }
}

@Suite("Account pool state: reload")
struct AccountPoolStateReloadTests {
    @Test func reloadKeepsRuntimeStateOfUnchangedAccounts() {
        var state = makeState([account("a"), account("b"), account("c")])
        _ = state.checkout(now: t0, excluding: ["b", "c"])
        _ = state.record(.failure(.throttled(retryAfter: .seconds(100)), message: "429"), account: "a", now: t0)
        _ = state.tokenRefreshed(account: "b", expiresIn: .seconds(3600), rotatedRefreshToken: "rotated", now: t0)
        _ = state.checkout(now: t0, excluding: ["a", "c"])
        _ = state.record(.success, account: "b", now: t0)
        _ = state.checkout(now: t0, excluding: ["a", "c"])  // still in flight across the reload

        var b = account("b", tier: 2, weight: 5)
        b.label = "Renamed"
        let actions = state.update(accounts: [account("new"), b, account("a")], now: t0 + .seconds(1))
        #expect(state.order == ["new", "b", "a"])
        #expect(state.entries["c"] == nil)
        #expect(actions.contains(.discardToken(id: "c")))
        #expect(!actions.contains(.discardToken(id: "b")))
        #expect(state.health("a") == .cooling(until: t0 + .seconds(100)))
        #expect(state.health("new") == .active)
        let entry = state.entries["b"]!
        #expect(entry.successes == 1 && entry.inFlight == 1)
        #expect(entry.credentials.label == "Renamed" && entry.credentials.tier == 2 && entry.credentials.weight == 5)
        // The rotated refresh token survives a reload that did not change the configured one.
        #expect(entry.credentials.refreshToken == "rotated")
        #expect(entry.tokenExpiresAt == t0 + .seconds(3600))
        _ = state.record(.success, account: "b", now: t0 + .seconds(2))
        #expect(state.entries["b"]?.inFlight == 0)
        // A record for a removed account is ignored.
        #expect(state.record(.success, account: "c", now: t0).isEmpty)
    }

    @Test("an account that holds no token takes the reloaded list's refresh token: the state directory's latest")
    func accountWithoutTokenTakesTheListsRefreshToken() {
        // A reload read an imported account's file before its token record: the seed (spent by the import's
        // refresh) and no token. The next reload's list carries the rotated token from the token record.
        var state = makeState([account("imported", refreshToken: "seed")])
        var withToken = account("imported", refreshToken: "rotated-by-import")
        withToken.refreshTokenSource = state.entries["imported"]!.credentials.refreshTokenSource
        let actions = state.update(accounts: [withToken], now: t0 + .seconds(1))
        #expect(!actions.contains(.discardToken(id: "imported")))
        #expect(state.entries["imported"]?.credentials.refreshToken == "rotated-by-import")

        // Once it holds a token it keeps the one it rotated to, whatever an older list says.
        _ = state.tokenRefreshed(account: "imported", expiresIn: .seconds(3600), rotatedRefreshToken: "rotated-here", now: t0 + .seconds(2))
        _ = state.update(accounts: [withToken], now: t0 + .seconds(3))
        #expect(state.entries["imported"]?.credentials.refreshToken == "rotated-here")
    }

    @Test func changedCredentialsResetTheToken() {
        var state = makeState([account("a")])
        _ = state.tokenRefreshed(account: "a", expiresIn: .seconds(3600), rotatedRefreshToken: "rotated", now: t0)
        let generation = state.entries["a"]!.credentialsGeneration
        let actions = state.update(accounts: [account("a", refreshToken: "pasted")], now: t0)
        #expect(actions.contains(.discardToken(id: "a")))
        #expect(state.entries["a"]?.credentials.refreshToken == "pasted")
        #expect(state.entries["a"]?.tokenExpiresAt == nil)
        #expect(state.entries["a"]!.credentialsGeneration == generation + 1)
    }

    @Test func reloadAppliesNewConfiguration() {
        var state = makeState([account("a"), account("b")])
        state.update(configuration: PoolConfiguration(strategy: .roundRobin))
        #expect((0..<4).map { _ in state.use()! } == ["a", "b", "a", "b"])
    }
}

@Suite("Account pool state: refresh schedule")
struct AccountPoolStateRefreshScheduleTests {
    @Test func refreshIsDueBeforeExpiryWithJitter() {
        var state = makeState([account("a"), account("b")], PoolConfiguration(refreshBeforeExpiry: .seconds(300), refreshJitter: .seconds(30)))
        #expect(state.nextRefreshDue() == nil)
        _ = state.tokenRefreshed(account: "a", expiresIn: .seconds(3600), rotatedRefreshToken: nil, now: t0)
        let due = state.nextRefreshDue()!
        #expect(due <= t0 + .seconds(3300) && due > t0 + .seconds(3270))
        #expect(state.refreshesDue(now: due - .seconds(1)).isEmpty)
        #expect(state.refreshesDue(now: due) == ["a"])
        // A failure postpones by the refresh backoff.
        _ = state.tokenRefreshFailed(account: "a", error: TokenRefreshError(isPermanent: false, message: "x"), hasValidToken: true, now: due)
        #expect(state.refreshesDue(now: due + .seconds(29)).isEmpty)
        #expect(state.refreshesDue(now: due + .seconds(33)) == ["a"])
    }
}
