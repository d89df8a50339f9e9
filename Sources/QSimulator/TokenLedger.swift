/// The tokens the simulated OIDC service has issued or revoked, and the checks the Q endpoint makes
/// against them.
///
/// A value type so that `SimulatorState` can keep it behind its one lock with the other counters.
struct TokenLedger: Sendable {
    /// Access token → the instant it stops working.
    private var accessTokens: [String: ContinuousClock.Instant] = [:]
    /// The access tokens Kiro's `/refreshToken` issued (a subset of ``accessTokens``' keys).
    private var kiroAccessTokens: Set<String> = []
    /// Refresh tokens handed out by rotation or a device login; valid until rotated themselves.
    private var issuedRefreshTokens: Set<String> = []
    /// Refresh tokens that were rotated away, so they fail even when any token is accepted.
    private var revokedRefreshTokens: Set<String> = []

    /// Whether `token` was issued here and has not expired at `now`.
    func isValidAccessToken(_ token: String, now: ContinuousClock.Instant) -> Bool {
        guard let expiry = self.accessTokens[token] else { return false }
        return now < expiry
    }

    /// Issues a new access token good for `lifetime` seconds from `now`; `kiro` marks one from `/refreshToken`.
    mutating func issueAccessToken(lifetime: Int, now: ContinuousClock.Instant, kiro: Bool = false) -> String {
        // Long runs (benchmarks) refresh often; dropping dead tokens keeps the table small.
        if self.accessTokens.count > 1024 {
            self.accessTokens = self.accessTokens.filter { now < $0.value }
            self.kiroAccessTokens = self.kiroAccessTokens.filter { self.accessTokens[$0] != nil }
        }
        let token = RandomIdentifier.accessToken()
        self.accessTokens[token] = now.advanced(by: .seconds(max(lifetime, 0)))
        if kiro { self.kiroAccessTokens.insert(token) }
        return token
    }

    /// Whether `token` came from Kiro's `/refreshToken`.
    func isKiroAccessToken(_ token: String) -> Bool {
        self.kiroAccessTokens.contains(token)
    }

    /// Makes every access token issued so far fail, as if an hour had passed.
    mutating func expireAllAccessTokens() {
        self.accessTokens.removeAll()
        self.kiroAccessTokens.removeAll()
    }

    /// Whether `token` may be exchanged now.
    ///
    /// - Parameter initial: The configured tokens; empty means any non-empty token not revoked is accepted.
    func isValidRefreshToken(_ token: String, initial: [String]) -> Bool {
        guard !token.isEmpty, !self.revokedRefreshTokens.contains(token) else { return false }
        return initial.isEmpty || initial.contains(token) || self.issuedRefreshTokens.contains(token)
    }

    /// Issues a new refresh token, valid until rotated, for a completed device login.
    mutating func issueRefreshToken() -> String {
        let token = RandomIdentifier.refreshToken()
        self.issuedRefreshTokens.insert(token)
        return token
    }

    /// Undoes a rotation whose reply never reached the client: `old` works again, `new` never will.
    mutating func undoRotation(old: String, new: String) {
        self.issuedRefreshTokens.remove(new)
        self.revokedRefreshTokens.insert(new)
        self.revokedRefreshTokens.remove(old)
        self.issuedRefreshTokens.insert(old)
    }

    /// Revokes `old` and returns its replacement.
    mutating func rotateRefreshToken(_ old: String) -> String {
        self.issuedRefreshTokens.remove(old)
        self.revokedRefreshTokens.insert(old)
        return self.issueRefreshToken()
    }
}
