import ProxyConfig

/// What the pool needs to know about one Amazon Q account.
package struct AccountCredentials: Sendable, Equatable {
    package var id: String
    package var label: String
    /// How the account refreshes its token (the refresher dispatches on it) and which request values it sends.
    package var kind: AccountKind
    /// `kind: oidc` only; empty for `kind: kiro`.
    package var clientID: String
    package var clientSecret: String
    /// `region`: for `kind: kiro`, the region of Kiro's auth service its refresh goes to (unless
    /// `upstream.kiro_auth_endpoint` is set); `nil` is us-east-1.
    package var region: String?
    /// The refresh token to use next: the seed, or the latest rotated one from the state directory.
    package var refreshToken: String
    /// ``RefreshTokenFingerprint`` of the seed refresh token (the YAML's, or a run-time account's
    /// `account` record's). A reload compares seeds, not the token in use, so a rotated token is
    /// not mistaken for new credentials; the state store tags every `token` record with it.
    package var refreshTokenSource: String
    /// Organisation accounts only: the configured profile ARN.
    package var profileARN: String?
    /// The profile ARN the last Kiro refresh returned (kept in the state directory's `token` record); used when
    /// ``profileARN`` is not configured. Not part of the account's identity: a reload that only changes it is no
    /// credential change.
    package var refreshedProfileARN: String?
    /// Per-account upstream endpoint override.
    package var endpoint: String?
    /// Per-account HTTP proxy for its requests and its token refreshes (`nil`: `upstream.proxy`).
    package var proxy: String?
    package var enabled: Bool
    /// Used by the `weighted` strategy (values below 1 count as 1).
    package var weight: Int
    /// Priority tier: lower tiers are filled first; the pool spills to the next tier only when no
    /// account of a lower tier is usable. Default 0.
    package var tier: Int

    package init(
        id: String, label: String, kind: AccountKind = .oidc, clientID: String, clientSecret: String, refreshToken: String,
        profileARN: String? = nil, endpoint: String? = nil, proxy: String? = nil, enabled: Bool = true, weight: Int = 1, tier: Int = 0,
        refreshTokenSource: String? = nil, region: String? = nil, refreshedProfileARN: String? = nil
    ) {
        self.id = id
        self.label = label
        self.kind = kind
        self.region = region
        self.refreshedProfileARN = refreshedProfileARN
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.refreshToken = refreshToken
        self.refreshTokenSource = refreshTokenSource ?? RefreshTokenFingerprint.of(refreshToken)
        self.profileARN = profileARN
        self.endpoint = endpoint
        self.proxy = proxy
        self.enabled = enabled
        self.weight = weight
        self.tier = tier
    }

    /// Whether `other` authenticates differently (a reload with new secrets resets the token and
    /// clears `suspended`, `refresh_failed` and auto-disable).
    func authenticatesDifferently(from other: AccountCredentials) -> Bool {
        kind != other.kind || clientID != other.clientID || clientSecret != other.clientSecret
            || refreshTokenSource != other.refreshTokenSource || profileARN != other.profileARN || endpoint != other.endpoint
            || region != other.region
    }

    /// The profile ARN requests name (`{{profile_arn}}`): the configured one, else the one a Kiro refresh returned.
    package var effectiveProfileARN: String? { profileARN ?? refreshedProfileARN }
}

/// A fresh access token and, when the service rotated it, the new refresh token.
package struct RefreshedToken: Sendable, Equatable {
    package var accessToken: String
    package var expiresIn: Duration
    package var refreshToken: String?
    /// The profile ARN a Kiro refresh returned (`profileArn`); `nil` for OIDC refreshes.
    package var profileARN: String?

    package init(accessToken: String, expiresIn: Duration, refreshToken: String?, profileARN: String? = nil) {
        self.accessToken = accessToken
        self.expiresIn = expiresIn
        self.refreshToken = refreshToken
        self.profileARN = profileARN
    }
}

/// Why a refresh failed, as far as the pool cares.
package struct TokenRefreshError: Error, Sendable, Equatable, CustomStringConvertible {
    /// True when the refresh token itself is bad (`invalid_grant`): retrying cannot help.
    package var isPermanent: Bool
    package var message: String

    package init(isPermanent: Bool, message: String) {
        self.isPermanent = isPermanent
        self.message = message
    }

    package var description: String { message }
}

/// Performs the OIDC call; injected so the pool has no network code and tests need no server.
package typealias TokenRefresher = @Sendable (AccountCredentials) async throws(TokenRefreshError) -> RefreshedToken

/// Runs after a successful refresh and before the new token is stored or handed to any caller:
/// the server persists a rotated refresh token here (append + fsync). When it throws, the refresh
/// counts as a transient failure and the new token is not used. `account` holds the credentials
/// the refresh was made with (its `refreshToken` is the one just exchanged).
package typealias TokenRefreshedHook = @Sendable (_ account: AccountCredentials, _ token: RefreshedToken) async throws -> Void

/// Called (outside the pool's lock) whenever an account's health changes, for the state store.
package typealias AccountStatusHook = @Sendable (_ accountID: String, _ status: AccountStatus) -> Void
