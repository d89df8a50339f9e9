import Logging
import ProxyModels

/// A client registration from SSO OIDC `RegisterClient` (AMAZON_Q.md §7.2).
///
/// Store it with the account: every refresh needs `clientID` and `clientSecret`. Its `description` hides
/// the secret, so logging a registration is safe.
package struct ClientRegistration: Sendable, Equatable, CustomStringConvertible {
    package var clientID: String
    package var clientSecret: String
    /// Epoch seconds, if the service said.
    package var clientIDIssuedAt: Int?
    /// Epoch seconds after which refreshes with this client fail and the account must log in again.
    package var clientSecretExpiresAt: Int?

    package init(clientID: String, clientSecret: String, clientIDIssuedAt: Int? = nil, clientSecretExpiresAt: Int? = nil) {
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.clientIDIssuedAt = clientIDIssuedAt
        self.clientSecretExpiresAt = clientSecretExpiresAt
    }

    package var description: String {
        "ClientRegistration(clientID: \(clientID), clientSecret: <redacted>, clientSecretExpiresAt: \(clientSecretExpiresAt.map(String.init) ?? "nil"))"
    }
}

/// A started device login from SSO OIDC `StartDeviceAuthorization` (AMAZON_Q.md §7.3).
///
/// Show the user ``verificationURIComplete`` (and ``userCode`` to compare), then poll with ``deviceCode``.
/// Its `description` hides the device code, which is what redeems the login.
package struct DeviceAuthorization: Sendable, Equatable, CustomStringConvertible {
    package var deviceCode: String
    package var userCode: String
    package var verificationURI: String
    /// The verification URI with the user code filled in: the one to open.
    package var verificationURIComplete: String
    /// Seconds the device code stays valid.
    package var expiresIn: Int
    /// Seconds to wait between polls.
    package var interval: Int

    package init(
        deviceCode: String, userCode: String, verificationURI: String, verificationURIComplete: String, expiresIn: Int, interval: Int
    ) {
        self.deviceCode = deviceCode
        self.userCode = userCode
        self.verificationURI = verificationURI
        self.verificationURIComplete = verificationURIComplete
        self.expiresIn = expiresIn
        self.interval = interval
    }

    package var description: String {
        "DeviceAuthorization(userCode: \(userCode), verificationURIComplete: \(verificationURIComplete), expiresIn: \(expiresIn), interval: \(interval))"
    }
}

/// How ``OIDCClient/waitForDeviceToken(endpoint:registration:authorization:pacing:clock:logger:)`` paces its polls.
///
/// The defaults follow RFC 8628 and the real service; tests shrink them to run in milliseconds.
package struct DevicePollingPacing: Sendable, Equatable {
    /// The shortest wait between polls, whatever `interval` the service gave (q2api (py) uses 1 s).
    package var minimumInterval: Duration
    /// Added to the wait after each `slow_down` (RFC 8628 §3.5: 5 seconds).
    package var slowDownIncrement: Duration
    /// Network errors and 5xx in a row before giving up; a lone blip should not cost the user the login.
    package var maximumConsecutiveTransientFailures: Int

    package init(
        minimumInterval: Duration = .seconds(1), slowDownIncrement: Duration = .seconds(5), maximumConsecutiveTransientFailures: Int = 3
    ) {
        self.minimumInterval = minimumInterval
        self.slowDownIncrement = slowDownIncrement
        self.maximumConsecutiveTransientFailures = maximumConsecutiveTransientFailures
    }

    package static let standard = DevicePollingPacing()
}

/// The device login (AMAZON_Q.md §7.2-§7.4): register a client, start a device authorization, show the
/// user the verification URI, and poll `CreateToken` until they approve.
///
/// ```swift
/// let oidc = OIDCClient(http: http)
/// let endpoint = OIDCClient.builderIDEndpoint
/// let registration = try await oidc.registerClient(endpoint: endpoint, logger: logger)
/// let authorization = try await oidc.startDeviceAuthorization(endpoint: endpoint, registration: registration, logger: logger)
/// print("Open \(authorization.verificationURIComplete) and check the code \(authorization.userCode)")
/// let grant = try await oidc.waitForDeviceToken(
///     endpoint: endpoint, registration: registration, authorization: authorization, logger: logger)
/// // store registration.clientID, registration.clientSecret and grant.refreshToken with the account
/// ```
extension OIDCClient {
    /// The SSO OIDC endpoint for AWS Builder ID, which always lives in us-east-1 (AMAZON_Q.md §7.1).
    package static let builderIDEndpoint = "https://oidc.us-east-1.amazonaws.com"
    /// The start URL of AWS Builder ID (AMAZON_Q.md §7.1). Identity Center start URLs look like
    /// `https://<directory>.awsapps.com/start`.
    package static let builderIDStartURL = "https://view.awsapps.com/start"
    /// The scopes the Amazon Q CLI registers with, exactly (AMAZON_Q.md §7.2).
    package static let defaultScopes = ["codewhisperer:completions", "codewhisperer:analysis", "codewhisperer:conversations"]
    /// The client name the Amazon Q CLI registers with (AMAZON_Q.md §7.2).
    package static let defaultClientName = "Amazon Q Developer for command line"
    /// The RFC 8628 grant type of a device-code poll.
    package static let deviceCodeGrantType = "urn:ietf:params:oauth:grant-type:device_code"

    /// Registers a public client for the device flow (`POST /client/register`).
    ///
    /// - Parameters:
    ///   - endpoint: The OIDC base URL, like ``builderIDEndpoint``.
    ///   - clientName: Shown to the user on the approval page.
    ///   - scopes: What the tokens may do; ``defaultScopes`` are what Amazon Q needs.
    /// - Throws: ``OIDCError``; `.transient` for network errors and 5xx.
    package func registerClient(
        endpoint: String, clientName: String = OIDCClient.defaultClientName, scopes: [String] = OIDCClient.defaultScopes, logger: Logger
    ) async throws(OIDCError) -> ClientRegistration {
        let body: JSONValue = [
            "clientName": .string(clientName), "clientType": "public", "scopes": .array(scopes.map { .string($0) }),
        ]
        let response = try await post(endpoint: endpoint, path: "/client/register", body: body, logger: logger)
        guard let clientID = Self.nonEmpty(response["clientId"]), let clientSecret = Self.nonEmpty(response["clientSecret"]) else {
            throw OIDCError(kind: .rejected, status: 200, message: "the client registration response has no clientId or clientSecret")
        }
        return ClientRegistration(
            clientID: clientID, clientSecret: clientSecret, clientIDIssuedAt: response["clientIdIssuedAt"]?.intValue,
            clientSecretExpiresAt: response["clientSecretExpiresAt"]?.intValue)
    }

    /// Starts a device login (`POST /device_authorization`).
    ///
    /// A missing `expiresIn` or `interval` is taken as 600 or 1 seconds, as q2api (py) does.
    ///
    /// - Parameter startURL: The user's sign-in portal; ``builderIDStartURL`` for AWS Builder ID.
    /// - Throws: ``OIDCError``; `.invalidClient` when the registration is bad or expired.
    package func startDeviceAuthorization(
        endpoint: String, registration: ClientRegistration, startURL: String = OIDCClient.builderIDStartURL, logger: Logger
    ) async throws(OIDCError) -> DeviceAuthorization {
        let body: JSONValue = [
            "clientId": .string(registration.clientID), "clientSecret": .string(registration.clientSecret), "startUrl": .string(startURL),
        ]
        let response = try await post(endpoint: endpoint, path: "/device_authorization", body: body, logger: logger)
        guard let deviceCode = Self.nonEmpty(response["deviceCode"]), let userCode = Self.nonEmpty(response["userCode"]),
            let verificationURI = Self.nonEmpty(response["verificationUriComplete"]) ?? Self.nonEmpty(response["verificationUri"])
        else {
            throw OIDCError(
                kind: .rejected, status: 200, message: "the device authorization response has no deviceCode, userCode or verification URI")
        }
        return DeviceAuthorization(
            deviceCode: deviceCode, userCode: userCode, verificationURI: Self.nonEmpty(response["verificationUri"]) ?? verificationURI,
            verificationURIComplete: verificationURI, expiresIn: response["expiresIn"]?.intValue ?? 600,
            interval: response["interval"]?.intValue ?? 1)
    }

    /// Polls `CreateToken` once with the device code.
    ///
    /// - Throws: ``OIDCError`` of kind `.authorizationPending` (not approved yet), `.slowDown` (polling too
    ///   fast), `.expiredToken` (start again), `.accessDenied` (the user said no), or any other kind.
    package func pollDeviceToken(
        endpoint: String, registration: ClientRegistration, deviceCode: String, logger: Logger
    ) async throws(OIDCError) -> TokenGrant {
        let body: JSONValue = [
            "clientId": .string(registration.clientID), "clientSecret": .string(registration.clientSecret),
            "grantType": .string(Self.deviceCodeGrantType), "deviceCode": .string(deviceCode),
        ]
        let response = try await post(endpoint: endpoint, path: "/token", body: body, logger: logger)
        guard let accessToken = Self.nonEmpty(response["accessToken"]) else {
            throw OIDCError(kind: .transient, status: 200, message: "the token response has no accessToken")
        }
        return TokenGrant(
            accessToken: accessToken, expiresIn: response["expiresIn"]?.intValue ?? 3600, refreshToken: Self.nonEmpty(response["refreshToken"]))
    }

    /// Polls until the user approves the login, then returns its tokens.
    ///
    /// Waits `interval` seconds (at least `pacing.minimumInterval`) before each poll, adds
    /// `pacing.slowDownIncrement` for good after each `slow_down`, retries a few network errors, and gives
    /// up when the device code expires.
    ///
    /// - Parameter clock: What the waits and the expiry are measured on; tests pass a clock they move by hand.
    /// - Throws: `CancellationError` when the task is cancelled (the wait ends at once); ``OIDCError`` of kind
    ///   `.expiredToken` when the code expires before approval, `.accessDenied` when the user denies, or
    ///   whatever other error ended the polling.
    package func waitForDeviceToken(
        endpoint: String, registration: ClientRegistration, authorization: DeviceAuthorization,
        pacing: DevicePollingPacing = .standard, clock: some Clock<Duration> = ContinuousClock(), logger: Logger
    ) async throws -> TokenGrant {
        try await Self.pollUntilApproved(authorization: authorization, pacing: pacing, clock: clock, logger: logger) {
            () async throws(OIDCError) -> TokenGrant in
            try await pollDeviceToken(endpoint: endpoint, registration: registration, deviceCode: authorization.deviceCode, logger: logger)
        }
    }

    /// The pacing of ``waitForDeviceToken(endpoint:registration:authorization:pacing:clock:logger:)`` apart from the
    /// network: `poll` asks `CreateToken` once, and its errors steer the waits on `clock`.
    static func pollUntilApproved<PollingClock: Clock<Duration>>(
        authorization: DeviceAuthorization, pacing: DevicePollingPacing, clock: PollingClock, logger: Logger,
        poll: () async throws(OIDCError) -> TokenGrant
    ) async throws -> TokenGrant {
        let deadline = clock.now.advanced(by: .seconds(max(authorization.expiresIn, 0)))
        var interval = max(.seconds(max(authorization.interval, 0)), pacing.minimumInterval)
        var transientFailures = 0
        while true {
            try Task.checkCancellation()
            let nextPoll = clock.now.advanced(by: interval)
            guard nextPoll < deadline else {
                throw OIDCError(
                    kind: .expiredToken, status: nil,
                    message: "the device code expired after \(authorization.expiresIn) s without approval; start the login again")
            }
            try await Task.sleep(until: nextPoll, clock: clock)
            do {
                return try await poll()
            } catch {
                switch error.kind {
                case .authorizationPending:
                    transientFailures = 0
                case .slowDown:
                    transientFailures = 0
                    interval += pacing.slowDownIncrement
                    logger.debug("device login: slow_down, polling less often", metadata: ["oidc.poll_interval": "\(interval)"])
                case .transient where transientFailures < pacing.maximumConsecutiveTransientFailures:
                    transientFailures += 1
                    logger.debug("device login: poll failed, will retry", metadata: ["oidc.error": "\(error)"])
                default:
                    throw error
                }
            }
        }
    }

    private static func nonEmpty(_ value: JSONValue?) -> String? {
        guard let string = value?.stringValue, !string.isEmpty else { return nil }
        return string
    }
}
