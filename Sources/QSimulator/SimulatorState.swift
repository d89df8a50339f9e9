import ProxyModels
import Synchronization

/// What the simulator has seen and is doing, shared by every request and readable by tests.
///
/// One instance serves one simulator. Tests keep a reference to assert on counters, to release held
/// streams and to expire tokens:
///
/// ```swift
/// let state = SimulatorState()
/// let app = QSimulator.application(options: .init(), state: state, host: "127.0.0.1", port: 0, logger: logger)
/// // ... drive the proxy ...
/// #expect(state.openStreams == 0)
/// ```
///
/// All state sits behind one `Mutex`: the counters change a few times per request, far too rarely for
/// contention to matter, and one lock makes compound steps (check and rotate a refresh token) atomic.
package final class SimulatorState: Sendable {
    private struct Storage {
        var openStreams = 0
        var totalRequests = 0
        var refreshCount = 0
        var lastRequestBody: JSONValue?
        var tokens = TokenLedger()
        var held: [Int: CheckedContinuation<Void, Never>] = [:]
        /// Holds whose task was cancelled before they registered, so they must not wait at all.
        var cancelledHolds: Set<Int> = []
        var nextHoldID = 0
    }

    private let storage = Mutex(Storage())

    package init() {}

    // MARK: - Observing

    /// Reply streams whose body is being written right now, held ones included.
    package var openStreams: Int { self.storage.withLock { $0.openStreams } }

    /// Every `POST /` received, valid or not.
    package var totalRequests: Int { self.storage.withLock { $0.totalRequests } }

    /// Successful `/token` refreshes.
    package var refreshCount: Int { self.storage.withLock { $0.refreshCount } }

    /// The body of the last `POST /` that passed validation, for tests that assert on what the proxy sent.
    package var lastRequestBody: JSONValue? { self.storage.withLock { $0.lastRequestBody } }

    /// Streams paused at a `hold` directive.
    package var heldStreams: Int { self.storage.withLock { $0.held.count } }

    // MARK: - Controlling

    /// Lets every stream currently paused at a `hold` directive continue. Streams that reach a hold later
    /// wait for the next release.
    package func releaseHeld() {
        self.releaseAllHeld()
    }

    /// Releases every held stream and returns how many there were.
    @discardableResult
    func releaseAllHeld() -> Int {
        let continuations = self.storage.withLock { storage in
            defer { storage.held.removeAll() }
            return Array(storage.held.values)
        }
        for continuation in continuations {
            continuation.resume()
        }
        return continuations.count
    }

    /// Makes every access token issued so far invalid, so the next `POST /` with one gets the 403 the real
    /// service sends for an expired token. Refresh tokens keep working.
    package func expireAllAccessTokens() {
        self.storage.withLock { $0.tokens.expireAllAccessTokens() }
    }

    // MARK: - Recording (used by the endpoints)

    func recordRequest() {
        self.storage.withLock { $0.totalRequests += 1 }
    }

    func recordValidBody(_ body: JSONValue) {
        self.storage.withLock { $0.lastRequestBody = body }
    }

    func streamStarted() {
        self.storage.withLock { $0.openStreams += 1 }
    }

    func streamEnded() {
        self.storage.withLock { $0.openStreams -= 1 }
    }

    func isValidAccessToken(_ token: String) -> Bool {
        let now = ContinuousClock.now
        return self.storage.withLock { $0.tokens.isValidAccessToken(token, now: now) }
    }

    /// The outcome of a refresh-token exchange.
    enum RefreshOutcome: Sendable {
        case issued(accessToken: String, refreshToken: String?)
        case invalidGrant
    }

    /// Checks `refreshToken` and, if valid, issues an access token (and a rotated refresh token when
    /// `options` say so), all under one lock so that two concurrent refreshes with the same token cannot
    /// both succeed when rotating.
    func refresh(_ refreshToken: String, options: SimulatorOptions) -> RefreshOutcome {
        let now = ContinuousClock.now
        return self.storage.withLock { storage in
            guard storage.tokens.isValidRefreshToken(refreshToken, initial: options.refreshTokens) else {
                return .invalidGrant
            }
            let accessToken = storage.tokens.issueAccessToken(lifetime: options.accessTokenLifetime, now: now)
            let rotated = options.rotateRefreshTokens ? storage.tokens.rotateRefreshToken(refreshToken) : nil
            storage.refreshCount += 1
            return .issued(accessToken: accessToken, refreshToken: rotated)
        }
    }

    /// Waits until ``releaseHeld()`` is called or the task is cancelled, counting as a held stream meanwhile.
    func waitForRelease() async {
        let id = self.storage.withLock { storage in
            defer { storage.nextHoldID += 1 }
            return storage.nextHoldID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let cancelled = self.storage.withLock { storage in
                    if storage.cancelledHolds.remove(id) != nil { return true }
                    storage.held[id] = continuation
                    return false
                }
                if cancelled { continuation.resume() }
            }
        } onCancel: {
            let continuation = self.storage.withLock { storage -> CheckedContinuation<Void, Never>? in
                if let continuation = storage.held.removeValue(forKey: id) { return continuation }
                storage.cancelledHolds.insert(id)
                return nil
            }
            continuation?.resume()
        }
        // A cancellation that raced with a release leaves its mark behind; drop it.
        self.storage.withLock { _ = $0.cancelledHolds.remove(id) }
    }
}
