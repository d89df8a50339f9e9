import Foundation
import ProxyConfig
import ProxyServer
import Synchronization
import Testing

/// The counters behind `api_keys[].limits`, driven by a hand-moved clock: no sleeps.
@Suite("Key limiter")
struct KeyLimiterTests {
    /// Seconds since 1970, moved by the test. Starts at 2026-12-07 12:00:00 UTC.
    final class TestClock: Sendable {
        let time = Mutex<Double>(1_796_644_800)
        var now: Double { time.withLock { $0 } }
        func advance(_ seconds: Double) { time.withLock { $0 += seconds } }
    }

    @Test("requests_per_minute: the 11th request in a minute is refused until the first leaves the 60 s window")
    func requestsPerMinute() throws {
        let clock = TestClock()
        let limiter = KeyLimiter(now: { clock.now })
        let limits = ProxyConfig.KeyLimits(requestsPerMinute: 10)
        for _ in 0..<10 {
            try limiter.admit(key: "intern", limits: limits).get().release()
            clock.advance(2)
        }
        // The first was admitted 20 s ago: it leaves the window in 40 s.
        #expect(throws: KeyRefusal.requestsPerMinute(limit: 10, retryAfter: 40)) { try limiter.admit(key: "intern", limits: limits).get() }
        #expect(
            KeyRefusal.requestsPerMinute(limit: 10, retryAfter: 40).message(key: "intern")
                == "API key 'intern' is over its limit of 10 requests per minute; try again in 40 s")
        // Other keys have their own window.
        #expect((try? limiter.admit(key: "alice", limits: limits).get()) != nil)
        clock.advance(40)
        #expect((try? limiter.admit(key: "intern", limits: limits).get()) != nil)
        #expect(limiter.current(key: "intern").requestsLastMinute == 10)
    }

    @Test("requests_per_minute: a request made at a fraction of a second stays in the window a full 60 s, not less")
    func windowIsAtLeastAMinute() throws {
        let clock = TestClock()
        clock.advance(0.9)
        let limiter = KeyLimiter(now: { clock.now })
        let limits = ProxyConfig.KeyLimits(requestsPerMinute: 1)
        try limiter.admit(key: "k", limits: limits).get().release()
        // 59.5 s later the request is still in the last minute.
        clock.advance(59.5)
        #expect(throws: KeyRefusal.requestsPerMinute(limit: 1, retryAfter: 1)) { try limiter.admit(key: "k", limits: limits).get() }
        #expect(limiter.current(key: "k").requestsLastMinute == 1)
        clock.advance(1)
        #expect((try? limiter.admit(key: "k", limits: limits).get()) != nil)
    }

    @Test("a refused request does not count in the window")
    func refusedRequestsDoNotCount() throws {
        let clock = TestClock()
        let limiter = KeyLimiter(now: { clock.now })
        let limits = ProxyConfig.KeyLimits(requestsPerMinute: 1)
        _ = try limiter.admit(key: "k", limits: limits).get()
        for _ in 0..<5 { #expect(throws: KeyRefusal.self) { try limiter.admit(key: "k", limits: limits).get() } }
        clock.advance(60)
        #expect((try? limiter.admit(key: "k", limits: limits).get()) != nil)
    }

    @Test("concurrent_streams: a permit held refuses the next, its release (once, however often called) admits it")
    func concurrentStreams() throws {
        let limiter = KeyLimiter(now: { 1_796_644_800 })
        let limits = ProxyConfig.KeyLimits(concurrentStreams: 2)
        let first = try limiter.admit(key: "k", limits: limits).get()
        let second = try limiter.admit(key: "k", limits: limits).get()
        #expect(throws: KeyRefusal.concurrentStreams(limit: 2)) { try limiter.admit(key: "k", limits: limits).get() }
        #expect(limiter.current(key: "k").streams == 2)
        first.release()
        first.release()
        first.release()
        #expect(limiter.current(key: "k").streams == 1)
        let third = try limiter.admit(key: "k", limits: limits).get()
        #expect(throws: KeyRefusal.self) { try limiter.admit(key: "k", limits: limits).get() }
        second.release()
        third.release()
        #expect(limiter.current(key: "k").streams == 0)
    }

    @Test("a hang-up frees the stream once; the release that follows still counts the tokens, and frees nothing more")
    func hangupThenRelease() throws {
        let limiter = KeyLimiter(now: { 1_796_644_800 })
        let limits = ProxyConfig.KeyLimits(concurrentStreams: 2)
        let permit = try limiter.admit(key: "k", limits: limits).get()
        let other = try limiter.admit(key: "k", limits: limits).get()
        let hooks = Mutex(0)
        permit.onFree { hooks.withLock { $0 += 1 } }
        permit.freeStream()
        permit.freeStream()
        #expect(limiter.current(key: "k").streams == 1)
        permit.release(tokens: 50)
        #expect(limiter.current(key: "k") == KeyUsageNow(requestsLastMinute: 2, streams: 1, tokensToday: 50))
        #expect(hooks.withLock { $0 } == 1)
        other.release()
        #expect(limiter.current(key: "k").streams == 0)
    }

    @Test("tokens_per_day: counted at release, refused once reached, reset at the next UTC midnight")
    func tokensPerDay() throws {
        let clock = TestClock()
        let limiter = KeyLimiter(now: { clock.now })
        let limits = ProxyConfig.KeyLimits(tokensPerDay: 1_000)
        try limiter.admit(key: "k", limits: limits).get().release(tokens: 600)
        try limiter.admit(key: "k", limits: limits).get().release(tokens: 600)
        #expect(limiter.current(key: "k").tokensToday == 1_200)
        // 12:00 UTC: twelve hours to midnight.
        #expect(throws: KeyRefusal.tokensPerDay(limit: 1_000, retryAfter: 43_200)) { try limiter.admit(key: "k", limits: limits).get() }
        clock.advance(43_200)
        #expect(limiter.current(key: "k").tokensToday == 0)
        #expect((try? limiter.admit(key: "k", limits: limits).get()) != nil)
    }

    @Test("seed: a restart starts from the tokens the usage files counted today")
    func seed() throws {
        let limiter = KeyLimiter(now: { 1_796_644_800 })
        limiter.seed(tokensToday: ["k": 5_000, "other": 10])
        limiter.add(tokens: 10, key: "other")
        #expect(limiter.current(key: "k").tokensToday == 5_000)
        #expect(limiter.current(key: "other").tokensToday == 20)
        #expect(throws: KeyRefusal.self) { try limiter.admit(key: "k", limits: .init(tokensPerDay: 5_000)).get() }
    }

    @Test("limits are read per call: raising one applies at once and keeps the counters")
    func limitsFromTheCaller() throws {
        let limiter = KeyLimiter(now: { 1_796_644_800 })
        for _ in 0..<3 { _ = try limiter.admit(key: "k", limits: .init(requestsPerMinute: 3)).get() }
        #expect(throws: KeyRefusal.self) { try limiter.admit(key: "k", limits: .init(requestsPerMinute: 3)).get() }
        #expect((try? limiter.admit(key: "k", limits: .init(requestsPerMinute: 4)).get()) != nil)
        #expect(limiter.current(key: "k").requestsLastMinute == 4)
    }

    @Test("a reload that removes a key forgets its counters; a request admitted before does not bring it back")
    func removedKeysAreForgotten() throws {
        let limiter = KeyLimiter(now: { 1_796_644_800 })
        let limits = ProxyConfig.KeyLimits(requestsPerMinute: 1)
        try limiter.admit(key: "stays", limits: limits).get().release(tokens: 10)
        let open = try limiter.admit(key: "removed", limits: limits).get()
        limiter.keep(only: ["stays"])
        #expect(limiter.current(key: "stays") == KeyUsageNow(requestsLastMinute: 1, streams: 0, tokensToday: 10))
        #expect(limiter.current(key: "removed") == KeyUsageNow())
        open.release(tokens: 500)
        #expect(limiter.current(key: "removed") == KeyUsageNow())
        // Added again under the same name, the key starts from zero.
        #expect((try? limiter.admit(key: "removed", limits: limits).get()) != nil)
        #expect(limiter.current(key: "removed") == KeyUsageNow(requestsLastMinute: 1, streams: 1, tokensToday: 0))
    }

    @Test("a key without limits is counted too: a limit given later starts from what it used")
    func unlimitedKeysAreCounted() throws {
        let limiter = KeyLimiter(now: { 1_796_644_800 })
        for _ in 0..<3 { try limiter.admit(key: "k", limits: .init()).get().release(tokens: 10) }
        #expect(limiter.current(key: "k") == KeyUsageNow(requestsLastMinute: 3, streams: 0, tokensToday: 30))
        #expect(throws: KeyRefusal.self) { try limiter.admit(key: "k", limits: .init(requestsPerMinute: 3)).get() }
        #expect(throws: KeyRefusal.self) { try limiter.admit(key: "k", limits: .init(tokensPerDay: 30)).get() }
    }
}
