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
        var framesSent = 0
        var replyBytesSent = 0
        var totalRequests = 0
        var modelListings = 0
        var refreshCount = 0
        /// Successful refreshes by OIDC client id (each q2api account names its own client).
        var refreshesByClient: [String: Int] = [:]
        var refreshesInFlight = 0
        var lastRequestBody: JSONValue?
        var rejectedRequests = 0
        var rejections: [String] = []
        var authFailures = 0
        var scriptedFailures = 0
        var planReplies = 0
        var requestsByProfile: [String: Int] = [:]
        var kiroRefreshUserAgents: [String] = []
        var tokens = TokenLedger()
        var clients = ClientRegistry()
        var devices = DeviceAuthorizations()
        var devicePolls = 0
        var deviceSlowDowns = 0
        var deviceTokensIssued = 0
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

    /// Event-stream frames handed to reply bodies so far, and their bytes: with the requests served, what a
    /// reply is made of (`scripts/bench` divides the proxy's CPU time by them).
    package var framesSent: Int { self.storage.withLock { $0.framesSent } }
    package var replyBytesSent: Int { self.storage.withLock { $0.replyBytesSent } }

    /// Every `POST /` received, valid or not.
    package var totalRequests: Int { self.storage.withLock { $0.totalRequests } }
    /// `GET /ListAvailableModels` calls.
    package var modelListings: Int { self.storage.withLock { $0.modelListings } }

    /// Successful `/token` refreshes.
    package var refreshCount: Int { self.storage.withLock { $0.refreshCount } }
    /// Successful refreshes by OIDC client id: shows which accounts were refreshed, and how often.
    package var refreshesByClient: [String: Int] { self.storage.withLock { $0.refreshesByClient } }

    /// Refreshes waiting out ``SimulatorOptions/tokenDelay``.
    package var refreshesInFlight: Int { self.storage.withLock { $0.refreshesInFlight } }

    /// A rotated token's reply could not be written (the client died): the rotation never happened.
    func undoRotation(old: String, new: String) {
        self.storage.withLock { $0.tokens.undoRotation(old: old, new: new) }
    }

    func refreshStarted() { self.storage.withLock { $0.refreshesInFlight += 1 } }
    func refreshFinished() { self.storage.withLock { $0.refreshesInFlight -= 1 } }

    /// The body of the last `POST /` that passed validation, for tests that assert on what the proxy sent.
    package var lastRequestBody: JSONValue? { self.storage.withLock { $0.lastRequestBody } }

    /// `POST /` requests the service would refuse as malformed: an unknown operation, a body that is not
    /// JSON or breaks a rule of ``RequestValidator``, content over the limit or an unknown model. A proxy
    /// that translates correctly keeps this at 0.
    package var rejectedRequests: Int { self.storage.withLock { $0.rejectedRequests } }

    /// The newest ``rejectionsKept`` rejections, oldest first, as `type: violation`.
    package var rejections: [String] { self.storage.withLock { $0.rejections } }

    /// How many rejections ``rejections`` keeps.
    static let rejectionsKept = 20

    /// `POST /` requests refused for a missing, unknown or expired access token.
    package var authFailures: Int { self.storage.withLock { $0.authFailures } }

    /// Error replies scripted by a failure directive (`throttle`, `suspend`, ...).
    package var scriptedFailures: Int { self.storage.withLock { $0.scriptedFailures } }

    /// Replies scripted by a step of a `plan:` directive.
    package var planReplies: Int { self.storage.withLock { $0.planReplies } }

    /// Well-formed requests by their `profileArn` (`""` for none): shows which accounts the proxy used.
    package var requestsByProfile: [String: Int] { self.storage.withLock { $0.requestsByProfile } }

    /// The `user-agent` of each Kiro refresh (`POST /refreshToken`), oldest first: shows which Kiro client version
    /// the proxy named.
    package var kiroRefreshUserAgents: [String] { self.storage.withLock { $0.kiroRefreshUserAgents } }

    func recordKiroRefreshUserAgent(_ agent: String) {
        self.storage.withLock { $0.kiroRefreshUserAgents.append(agent) }
    }

    /// Streams paused at a `hold` directive.
    package var heldStreams: Int { self.storage.withLock { $0.held.count } }

    /// Clients registered through `POST /client/register`.
    package var registeredClients: Int { self.storage.withLock { $0.clients.count } }

    /// Device authorizations started through `POST /device_authorization`.
    package var deviceAuthorizationsStarted: Int { self.storage.withLock { $0.devices.started } }

    /// Device authorizations waiting for the user's decision and not expired.
    package var pendingDeviceAuthorizations: Int {
        let now = ContinuousClock.now
        return self.storage.withLock { $0.devices.pendingCount(now: now) }
    }

    /// Polls of `/token` with the device-code grant, whatever their answer.
    package var devicePolls: Int { self.storage.withLock { $0.devicePolls } }

    /// Device-code polls answered `slow_down`.
    package var deviceSlowDowns: Int { self.storage.withLock { $0.deviceSlowDowns } }

    /// Device logins completed: polls that got tokens.
    package var deviceTokensIssued: Int { self.storage.withLock { $0.deviceTokensIssued } }

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

    /// Approves the pending device authorization with `userCode`, or every pending one when it is nil, as
    /// the user would in the browser. Its next poll gets the tokens.
    ///
    /// - Returns: How many were approved; 0 when `userCode` is unknown, expired or already decided.
    @discardableResult
    package func approveDevice(userCode: String? = nil) -> Int {
        let now = ContinuousClock.now
        return self.storage.withLock { $0.devices.decide(userCode: userCode, .approved, now: now) }
    }

    /// Denies the pending device authorization with `userCode`, or every pending one when it is nil. Its
    /// polls then get `access_denied`.
    ///
    /// - Returns: How many were denied; 0 when `userCode` is unknown, expired or already decided.
    @discardableResult
    package func denyDevice(userCode: String? = nil) -> Int {
        let now = ContinuousClock.now
        return self.storage.withLock { $0.devices.decide(userCode: userCode, .denied, now: now) }
    }

    // MARK: - Recording (used by the endpoints)

    func recordModelListing() {
        self.storage.withLock { $0.modelListings += 1 }
    }

    func recordRequest() {
        self.storage.withLock { $0.totalRequests += 1 }
    }

    func recordValidBody(_ body: JSONValue) {
        let profile = body["profileArn"]?.stringValue ?? ""
        self.storage.withLock {
            $0.lastRequestBody = body
            $0.requestsByProfile[profile, default: 0] += 1
        }
    }

    func recordRejection(_ error: QServiceError) {
        let description = "\(error.type): \(error.violation ?? error.message)"
        self.storage.withLock {
            $0.rejectedRequests += 1
            $0.rejections.append(description)
            if $0.rejections.count > Self.rejectionsKept { $0.rejections.removeFirst($0.rejections.count - Self.rejectionsKept) }
        }
    }

    func recordAuthFailure() {
        self.storage.withLock { $0.authFailures += 1 }
    }

    func recordScriptedFailure() {
        self.storage.withLock { $0.scriptedFailures += 1 }
    }

    func recordPlanReply() {
        self.storage.withLock { $0.planReplies += 1 }
    }

    func streamStarted() {
        self.storage.withLock { $0.openStreams += 1 }
    }

    func streamEnded(frames: Int, bytes: Int) {
        self.storage.withLock {
            $0.openStreams -= 1
            $0.framesSent += frames
            $0.replyBytesSent += bytes
        }
    }

    func isValidAccessToken(_ token: String) -> Bool {
        let now = ContinuousClock.now
        return self.storage.withLock { $0.tokens.isValidAccessToken(token, now: now) }
    }

    /// Whether `token` was issued by Kiro's `/refreshToken` (its requests must name a profile and a Kiro client).
    func isKiroAccessToken(_ token: String) -> Bool {
        self.storage.withLock { $0.tokens.isKiroAccessToken(token) }
    }

    /// The outcome of a refresh-token exchange.
    enum RefreshOutcome: Sendable {
        case issued(accessToken: String, refreshToken: String?)
        case invalidGrant
    }

    /// Checks `refreshToken` and, if valid, issues an access token (and a rotated refresh token when
    /// `options` say so), all under one lock so that two concurrent refreshes with the same token cannot
    /// both succeed when rotating.
    ///
    /// - Parameter kiroProfileARN: set for a Kiro refresh (`/refreshToken`): the access token is marked as a Kiro one.
    func refresh(_ refreshToken: String, clientID: String = "", options: SimulatorOptions, kiroProfileARN: String? = nil) -> RefreshOutcome {
        let now = ContinuousClock.now
        return self.storage.withLock { storage in
            guard storage.tokens.isValidRefreshToken(refreshToken, initial: options.refreshTokens) else {
                return .invalidGrant
            }
            let accessToken = storage.tokens.issueAccessToken(lifetime: options.accessTokenLifetime, now: now, kiro: kiroProfileARN != nil)
            let rotated = options.rotateRefreshTokens ? storage.tokens.rotateRefreshToken(refreshToken) : nil
            storage.refreshCount += 1
            storage.refreshesByClient[clientID, default: 0] += 1
            return .issued(accessToken: accessToken, refreshToken: rotated)
        }
    }

    // MARK: - OIDC clients and the device flow (used by the endpoints)

    /// Whether an OIDC call may go on with this client.
    enum ClientCheck: Sendable, Equatable {
        case accepted
        case unknownClient
        case wrongSecret
    }

    func registerClient() -> (clientID: String, clientSecret: String) {
        self.storage.withLock { $0.clients.register() }
    }

    /// Accepts a registered client with its own secret, or else the client that `options` name (any client
    /// when they name none).
    func checkClient(_ clientID: String, secret: String, options: SimulatorOptions) -> ClientCheck {
        if let registered = self.storage.withLock({ $0.clients.secret(of: clientID) }) {
            return registered == secret ? .accepted : .wrongSecret
        }
        if let expected = options.clientID, clientID != expected { return .unknownClient }
        if let expected = options.clientSecret, secret != expected { return .wrongSecret }
        return .accepted
    }

    func startDeviceAuthorization(clientID: String, options: SimulatorOptions) -> (deviceCode: String, userCode: String) {
        let now = ContinuousClock.now
        return self.storage.withLock {
            $0.devices.start(clientID: clientID, lifetime: options.deviceCodeLifetime, interval: options.deviceInterval, now: now)
        }
    }

    /// The outcome of one device-code poll: tokens, or the OIDC error to answer.
    enum DevicePollOutcome: Sendable, Equatable {
        case issued(accessToken: String, refreshToken: String)
        case pending
        case slowDown
        case expired
        case denied
        case invalidGrant
    }

    /// Answers a device-code poll and, when the authorization is approved, issues its tokens, all under one
    /// lock so that two concurrent polls cannot both redeem the same device code.
    func pollDevice(deviceCode: String, clientID: String, options: SimulatorOptions) -> DevicePollOutcome {
        let now = ContinuousClock.now
        return self.storage.withLock { storage in
            storage.devicePolls += 1
            let outcome = storage.devices.poll(
                deviceCode: deviceCode, clientID: clientID, now: now, enforceSlowDown: options.enforceSlowDown,
                autoApproveAfter: options.autoApproveDeviceAfterPolls)
            switch outcome {
            case .approved:
                storage.deviceTokensIssued += 1
                let accessToken = storage.tokens.issueAccessToken(lifetime: options.accessTokenLifetime, now: now)
                return .issued(accessToken: accessToken, refreshToken: storage.tokens.issueRefreshToken())
            case .slowDown:
                storage.deviceSlowDowns += 1
                return .slowDown
            case .pending: return .pending
            case .expired: return .expired
            case .denied: return .denied
            case .invalidGrant: return .invalidGrant
            }
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
