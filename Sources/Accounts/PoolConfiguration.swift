import ProxyConfig

/// Exponential backoff with a cap and upward jitter.
///
/// The delay before the next attempt after the `n`-th consecutive failure (`n` ≥ 1) is
///
///     delay(n) = min(cap, base · multiplier^(n − 1)) · (1 + jitter · u),   u uniform in [0, 1)
///
/// and, when the upstream sent a retry hint, `max(hint, delay(n))`: the pool never comes back
/// earlier than the upstream asked. Jitter only lengthens the delay so that accounts throttled
/// together do not all come back in the same instant.
///
/// ``throttle`` (account cooldowns: `base` 10 s, `multiplier` 2, `cap` 10 min, `jitter` 0.2):
///
/// | failure | delay before jitter | with jitter    |
/// |--------:|--------------------:|:---------------|
/// |       1 |                10 s | 10 s – 12 s    |
/// |       2 |                20 s | 20 s – 24 s    |
/// |       3 |                40 s | 40 s – 48 s    |
/// |       5 |               160 s | 160 s – 192 s  |
/// |       8 |     600 s (cap; 1280 s uncapped) | 600 s – 720 s |
/// |      10 |     600 s (cap; 5120 s uncapped) | 600 s – 720 s |
///
/// ``refresh`` (failed token refreshes: `base` 30 s, `multiplier` 2, `cap` 10 min, `jitter` 0.1):
///
/// | failure | delay before jitter | with jitter    |
/// |--------:|--------------------:|:---------------|
/// |       1 |                30 s | 30 s – 33 s    |
/// |       2 |                60 s | 60 s – 66 s    |
/// |       3 |               120 s | 120 s – 132 s  |
/// |       5 |               480 s | 480 s – 528 s  |
/// |       8 |     600 s (cap)     | 600 s – 660 s  |
/// |      10 |     600 s (cap)     | 600 s – 660 s  |
///
/// "Consecutive" resets on a success. For throttling, a further 429 on an account that is already
/// cooling (a request that was in flight when the first one was throttled) does not count again.
package struct Backoff: Sendable, Hashable {
    package var base: Duration
    package var multiplier: Double
    package var cap: Duration
    /// The largest extra fraction added by jitter (0.2 = up to +20 %).
    package var jitter: Double

    package init(base: Duration, multiplier: Double = 2, cap: Duration, jitter: Double) {
        self.base = base
        self.multiplier = multiplier
        self.cap = cap
        self.jitter = jitter
    }

    package static let throttle = Backoff(base: .seconds(10), cap: .seconds(600), jitter: 0.2)
    package static let refresh = Backoff(base: .seconds(30), cap: .seconds(600), jitter: 0.1)

    /// The delay before jitter after the `failure`-th consecutive failure.
    package func undisturbedDelay(failure: Int) -> Duration {
        let exponent = Double(max(0, failure - 1))
        let seconds = min(Self.seconds(cap), Self.seconds(base) * pow2(multiplier, exponent))
        return .seconds(seconds)
    }

    /// The delay with jitter `unit` in [0, 1), never shorter than `hint`.
    package func delay(failure: Int, jitterUnit unit: Double, hint: Duration? = nil) -> Duration {
        let seconds = Self.seconds(undisturbedDelay(failure: failure)) * (1 + jitter * min(max(unit, 0), 1))
        let delay = Duration.seconds(seconds)
        if let hint, hint > delay { return hint }
        return delay
    }

    static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    private func pow2(_ base: Double, _ exponent: Double) -> Double {
        // Bounded loop instead of Foundation's pow; exponents stay small because the cap stops growth.
        var result = 1.0
        var remaining = Int(min(exponent, 64))
        while remaining > 0 {
            result *= base
            remaining -= 1
        }
        return result
    }
}

/// The pool's tunables; ``init(_:)`` reads them from the `balancing` and `refresh` sections.
package struct PoolConfiguration: Sendable, Hashable {
    package typealias Strategy = ProxyConfig.Balancing.Strategy

    /// `balancing.strategy`.
    package var strategy: Strategy
    /// `balancing.max_errors`: non-throttling failures within ``errorWindow`` that auto-disable an account.
    package var maxErrors: Int
    /// `balancing.error_window`.
    package var errorWindow: Duration
    package var throttleBackoff: Backoff
    package var refreshBackoff: Backoff
    /// How long a session key stays bound to an account after its last request.
    package var affinityTTL: Duration
    /// Session bindings kept at most; the least recently used are evicted beyond it.
    package var maxAffinityEntries: Int
    /// `refresh.before_expiry`: refresh this long before an access token expires.
    package var refreshBeforeExpiry: Duration
    /// `refresh.jitter`: background refreshes happen up to this much earlier still, per account at random.
    package var refreshJitter: Duration
    /// The background refresh loop wakes at least this often (a scan of the accounts under the lock: cheap).
    package var refreshPollInterval: Duration

    package init(
        strategy: Strategy = .random, maxErrors: Int = 100, errorWindow: Duration = .seconds(600),
        throttleBackoff: Backoff = .throttle, refreshBackoff: Backoff = .refresh,
        affinityTTL: Duration = .seconds(1800), maxAffinityEntries: Int = 10_000,
        refreshBeforeExpiry: Duration = .seconds(300), refreshJitter: Duration = .seconds(30),
        refreshPollInterval: Duration = .seconds(1)
    ) {
        self.strategy = strategy
        self.maxErrors = maxErrors
        self.errorWindow = errorWindow
        self.throttleBackoff = throttleBackoff
        self.refreshBackoff = refreshBackoff
        self.affinityTTL = affinityTTL
        self.maxAffinityEntries = maxAffinityEntries
        self.refreshBeforeExpiry = refreshBeforeExpiry
        self.refreshJitter = refreshJitter
        self.refreshPollInterval = refreshPollInterval
    }

    /// The settings from a validated config.
    package init(_ config: ProxyConfig) {
        let balancing = config.balancing
        self.init(
            strategy: balancing.strategy, maxErrors: balancing.maxErrors, errorWindow: balancing.errorWindow,
            throttleBackoff: Backoff(base: balancing.cooldown, cap: max(balancing.cooldown, balancing.maxCooldown), jitter: Backoff.throttle.jitter),
            affinityTTL: balancing.affinityTTL, refreshBeforeExpiry: config.refresh.beforeExpiry, refreshJitter: config.refresh.jitter)
    }
}

/// SplitMix64: a tiny seedable generator, so the state machine stays a value and tests are deterministic.
package struct PoolRandom: RandomNumberGenerator, Sendable, Hashable {
    private var state: UInt64

    package init(seed: UInt64) {
        self.state = seed
    }

    package init() {
        var system = SystemRandomNumberGenerator()
        self.state = system.next()
    }

    package mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    package mutating func unit() -> Double { Double(next() >> 11) * 0x1.0p-53 }
}
