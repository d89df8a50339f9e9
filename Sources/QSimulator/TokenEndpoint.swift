import Hummingbird
import NIOCore
import ProxyModels

/// `POST /token`: the SSO OIDC CreateToken operation for the `refresh_token` and device-code grants
/// (AMAZON_Q.md §7.4).
///
/// Errors use OIDC's shape, `{"error": ..., "error_description": ...}`, with the statuses the service
/// model gives each exception. The other OIDC operations (``ClientRegistrationEndpoint``,
/// ``DeviceAuthorizationEndpoint``) share its helpers.
enum TokenEndpoint {
    static let maximumBodySize = 1024 * 1024
    /// The RFC 8628 grant type of a device-code poll.
    static let deviceCodeGrantType = "urn:ietf:params:oauth:grant-type:device_code"

    static func respond(to request: Request, options: SimulatorOptions, state: SimulatorState) async throws -> Response {
        guard let body = try await Self.jsonObject(request) else {
            return Self.error(.badRequest, "invalid_request", "Request body is not a JSON object")
        }
        guard let clientID = body["clientId"]?.stringValue, let clientSecret = body["clientSecret"]?.stringValue,
            let grantType = body["grantType"]?.stringValue
        else {
            return Self.error(.badRequest, "invalid_request", "clientId, clientSecret and grantType are required")
        }
        if let refusal = Self.clientRefusal(state.checkClient(clientID, secret: clientSecret, options: options)) {
            return refusal
        }
        switch grantType {
        case "refresh_token":
            guard let refreshToken = body["refreshToken"]?.stringValue else {
                return Self.error(.badRequest, "invalid_request", "refreshToken is required for the refresh_token grant")
            }
            return await Self.refresh(refreshToken, clientID: clientID, options: options, state: state)
        case Self.deviceCodeGrantType:
            guard let deviceCode = body["deviceCode"]?.stringValue else {
                return Self.error(.badRequest, "invalid_request", "deviceCode is required for the device_code grant")
            }
            return Self.pollDevice(deviceCode, clientID: clientID, options: options, state: state)
        default:
            return Self.error(.badRequest, "unsupported_grant_type", "Unsupported grant type: \(grantType)")
        }
    }

    private static func refresh(_ refreshToken: String, clientID: String, options: SimulatorOptions, state: SimulatorState) async -> Response {
        guard options.tokenDelay > .zero else {
            switch state.refresh(refreshToken, clientID: clientID, options: options) {
            case .invalidGrant:
                return Self.error(.badRequest, "invalid_grant", "Invalid refresh token provided")
            case .issued(let accessToken, let rotated):
                return Self.tokenReply(accessToken: accessToken, refreshToken: rotated, options: options)
            }
        }
        // Crash-test mode: think for `tokenDelay`, and keep a rotation only if its reply could be written.
        // A client killed while waiting never saw the new token, so the old one must stay valid, as it
        // does at the real service when the request never completed.
        state.refreshStarted()
        try? await Task.sleep(for: options.tokenDelay)
        state.refreshFinished()
        switch state.refresh(refreshToken, clientID: clientID, options: options) {
        case .invalidGrant:
            return Self.error(.badRequest, "invalid_grant", "Invalid refresh token provided")
        case .issued(let accessToken, let rotated):
            let bytes = Self.tokenJSON(accessToken: accessToken, refreshToken: rotated, options: options).jsonBytes
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: ResponseBody { writer in
                    do {
                        // A dead peer answers the first write with a reset, which fails the second one.
                        try await writer.write(ByteBuffer(bytes: bytes.prefix(1)))
                        try await Task.sleep(for: .milliseconds(100))
                        try await writer.write(ByteBuffer(bytes: bytes.dropFirst()))
                        try await writer.finish(nil)
                    } catch {
                        if let rotated { state.undoRotation(old: refreshToken, new: rotated) }
                        throw error
                    }
                })
        }
    }

    /// One poll of a device login: the RFC 8628 §3.5 errors until the user decides, then the tokens.
    private static func pollDevice(_ deviceCode: String, clientID: String, options: SimulatorOptions, state: SimulatorState) -> Response {
        switch state.pollDevice(deviceCode: deviceCode, clientID: clientID, options: options) {
        case .issued(let accessToken, let refreshToken):
            return Self.tokenReply(accessToken: accessToken, refreshToken: refreshToken, options: options)
        case .pending:
            return Self.error(.badRequest, "authorization_pending", "Authorization is still pending")
        case .slowDown:
            return Self.error(
                .badRequest, "slow_down", "Client is polling too fast; wait \(options.deviceInterval) seconds plus 5 between polls")
        case .expired:
            return Self.error(.badRequest, "expired_token", "Device code has expired")
        case .denied:
            return Self.error(.badRequest, "access_denied", "The user denied the authorization request")
        case .invalidGrant:
            return Self.error(.badRequest, "invalid_grant", "Invalid device code provided")
        }
    }

    private static func tokenReply(accessToken: String, refreshToken: String?, options: SimulatorOptions) -> Response {
        Self.json(.ok, Self.tokenJSON(accessToken: accessToken, refreshToken: refreshToken, options: options))
    }

    private static func tokenJSON(accessToken: String, refreshToken: String?, options: SimulatorOptions) -> JSONValue {
        .object([
            "accessToken": .string(accessToken),
            "tokenType": "Bearer",
            "expiresIn": .int(options.accessTokenLifetime),
            "refreshToken": refreshToken.map { JSONValue.string($0) },
        ])
    }

    // MARK: - Shared by the OIDC operations

    /// The request body if it is a JSON object, else nil.
    static func jsonObject(_ request: Request) async throws -> JSONValue? {
        let buffer = try await request.body.collect(upTo: Self.maximumBodySize)
        guard let body = try? JSONParser.parse(Array(buffer.readableBytesView)), case .object = body else { return nil }
        return body
    }

    /// The `invalid_client` reply (HTTP 401) for a refused client, or nil for an accepted one.
    static func clientRefusal(_ check: SimulatorState.ClientCheck) -> Response? {
        switch check {
        case .accepted: nil
        case .unknownClient: Self.error(.unauthorized, "invalid_client", "Invalid client provided")
        case .wrongSecret: Self.error(.unauthorized, "invalid_client", "Invalid client secret provided")
        }
    }

    static func error(_ status: HTTPResponse.Status, _ code: String, _ description: String) -> Response {
        Self.json(status, ["error": .string(code), "error_description": .string(description)])
    }

    static func json(_ status: HTTPResponse.Status, _ value: JSONValue) -> Response {
        Response(
            status: status,
            headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: value.jsonBytes))
        )
    }
}
