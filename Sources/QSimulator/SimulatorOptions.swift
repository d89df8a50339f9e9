/// How the simulator behaves: which credentials it accepts, which models it knows and how it paces replies.
///
/// Every member has a default, so a test states only what it cares about:
///
/// ```swift
/// let options = SimulatorOptions(refreshTokens: ["rt-1"], rotateRefreshTokens: true)
/// let router = QSimulator.router(options: options, state: SimulatorState())
/// ```
package struct SimulatorOptions: Sendable {
    /// The models the real service lists for a Builder ID account (AMAZON_Q.md §3.1).
    package static let defaultModels = [
        "claude-sonnet-4.5", "claude-sonnet-4", "claude-haiku-4.5", "claude-opus-4.5", "claude-3.7-sonnet",
    ]

    /// The OIDC client id `/token` and `/device_authorization` accept besides registered clients; `nil` accepts any.
    package var clientID: String?
    /// The OIDC client secret that goes with ``clientID``; `nil` accepts any.
    package var clientSecret: String?
    /// Refresh tokens that are valid from the start. Empty means any non-empty refresh token is accepted,
    /// which suits demos where the proxy's config holds made-up tokens.
    package var refreshTokens: [String]
    /// Seconds an issued access token stays valid; returned as `expiresIn`.
    package var accessTokenLifetime: Int
    /// When true every refresh returns a new refresh token and the old one becomes `invalid_grant`,
    /// as the real service may do (AMAZON_Q.md §7.4), so that clients must store the rotated token.
    package var rotateRefreshTokens: Bool
    /// The `modelId` values the Q endpoint accepts; any other gives `INVALID_MODEL_ID`.
    package var models: [String]
    /// The pause between two frames of a reply, to make streaming observable; `delay:` overrides it.
    package var frameDelay: Duration
    /// The reply to a message that carries no directive and no tool results.
    package var defaultReply: DefaultReply
    /// How a reply's bytes are cut into network writes.
    package var writes: WritePattern

    // MARK: Device flow (AMAZON_Q.md §7.3, RFC 8628)

    /// Seconds between two polls of `/token` with a device code; returned as `interval`. The real service
    /// says 1.
    package var deviceInterval: Int
    /// Seconds a device code stays valid; returned as `expiresIn`. The real service says 600.
    package var deviceCodeLifetime: Int
    /// Approve a device authorization by itself once this many polls were answered `authorization_pending`,
    /// so that a test or a headless demo can log in without a browser. `nil` waits for an explicit
    /// approval (``SimulatorState/approveDevice(userCode:)``, `POST /__sim/device/approve`).
    package var autoApproveDeviceAfterPolls: Int?
    /// When true a poll less than ``deviceInterval`` seconds after the previous one of the same device code
    /// gets `slow_down`, so that clients' handling of it can be tested.
    package var enforceSlowDown: Bool
    /// How long `/token` thinks before it answers a refresh (the old token stays valid meanwhile), so that
    /// a crash test can kill the proxy while a refresh is in flight.
    package var tokenDelay: Duration
    /// The `profileArn` Kiro's `/refreshToken` returns with every token.
    package var kiroProfileARN: String

    package static let defaultKiroProfileARN = "arn:aws:codewhisperer:us-east-1:000000000000:profile/QSIMKIRO"

    package init(
        clientID: String? = nil,
        clientSecret: String? = nil,
        refreshTokens: [String] = [],
        accessTokenLifetime: Int = 3600,
        rotateRefreshTokens: Bool = false,
        models: [String] = SimulatorOptions.defaultModels,
        frameDelay: Duration = .zero,
        defaultReply: DefaultReply = .short,
        writes: WritePattern = .split,
        deviceInterval: Int = 1,
        deviceCodeLifetime: Int = 600,
        autoApproveDeviceAfterPolls: Int? = nil,
        enforceSlowDown: Bool = true,
        tokenDelay: Duration = .zero,
        kiroProfileARN: String = SimulatorOptions.defaultKiroProfileARN
    ) {
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.refreshTokens = refreshTokens
        self.accessTokenLifetime = accessTokenLifetime
        self.rotateRefreshTokens = rotateRefreshTokens
        self.models = models
        self.frameDelay = frameDelay
        self.defaultReply = defaultReply
        self.writes = writes
        self.deviceInterval = deviceInterval
        self.deviceCodeLifetime = deviceCodeLifetime
        self.autoApproveDeviceAfterPolls = autoApproveDeviceAfterPolls
        self.enforceSlowDown = enforceSlowDown
        self.tokenDelay = tokenDelay
        self.kiroProfileARN = kiroProfileARN
    }
}

/// The reply to a plain message with no directive.
package enum DefaultReply: String, Sendable, CaseIterable {
    /// One short sentence in a handful of events: cheap for tests and smoke checks.
    case short
    /// About 1,250 characters of prose in about 110 events, the size of a typical chat answer, for demos
    /// and benchmarks where per-event cost matters.
    case realistic
}

/// How the simulator cuts a reply into network writes.
package enum WritePattern: String, Sendable, CaseIterable {
    /// Odd-sized pieces, so frames are split across writes and share writes: what a client must survive
    /// (the default, for tests).
    case split
    /// One write per frame, as the real service delivers a reply whose events the model produces one by
    /// one: what a client pays per event in practice (for benchmarks).
    case frames
}
