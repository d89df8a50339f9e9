import Hummingbird
import NIOCore
import ProxyModels

/// `POST /token`: the SSO OIDC CreateToken operation for the `refresh_token` grant (AMAZON_Q.md §7.4).
///
/// Errors use OIDC's shape, `{"error": ..., "error_description": ...}`, with the statuses the service
/// model gives each exception.
enum TokenEndpoint {
    static let maximumBodySize = 1024 * 1024

    static func respond(to request: Request, options: SimulatorOptions, state: SimulatorState) async throws -> Response {
        let buffer = try await request.body.collect(upTo: Self.maximumBodySize)
        guard let body = try? JSONParser.parse(Array(buffer.readableBytesView)), case .object = body else {
            return Self.error(.badRequest, "invalid_request", "Request body is not a JSON object")
        }
        guard let clientID = body["clientId"]?.stringValue, let clientSecret = body["clientSecret"]?.stringValue,
            let grantType = body["grantType"]?.stringValue
        else {
            return Self.error(.badRequest, "invalid_request", "clientId, clientSecret and grantType are required")
        }
        if let expected = options.clientID, clientID != expected {
            return Self.error(.unauthorized, "invalid_client", "Invalid client provided")
        }
        if let expected = options.clientSecret, clientSecret != expected {
            return Self.error(.unauthorized, "invalid_client", "Invalid client secret provided")
        }
        guard grantType == "refresh_token" else {
            return Self.error(.badRequest, "unsupported_grant_type", "Unsupported grant type: \(grantType)")
        }
        guard let refreshToken = body["refreshToken"]?.stringValue else {
            return Self.error(.badRequest, "invalid_request", "refreshToken is required for the refresh_token grant")
        }
        switch state.refresh(refreshToken, options: options) {
        case .invalidGrant:
            return Self.error(.badRequest, "invalid_grant", "Invalid refresh token provided")
        case .issued(let accessToken, let rotated):
            let reply: JSONValue = .object([
                "accessToken": .string(accessToken),
                "tokenType": "Bearer",
                "expiresIn": .int(options.accessTokenLifetime),
                "refreshToken": rotated.map { JSONValue.string($0) },
            ])
            return Self.json(.ok, reply)
        }
    }

    private static func error(_ status: HTTPResponse.Status, _ code: String, _ description: String) -> Response {
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
