import Hummingbird
import ProxyModels

/// `POST /client/register`: the SSO OIDC RegisterClient operation (AMAZON_Q.md §7.2), the first step of a
/// device login. The client it registers is then accepted by `/device_authorization` and `/token`.
enum ClientRegistrationEndpoint {
    /// How long a registration claims to last; the real ones last about 90 days. Only reported, never
    /// enforced: no simulator run lasts that long.
    static let registrationLifetime = 90 * 24 * 3600

    static func respond(to request: Request, state: SimulatorState) async throws -> Response {
        guard let body = try await TokenEndpoint.jsonObject(request) else {
            return TokenEndpoint.error(.badRequest, "invalid_request", "Request body is not a JSON object")
        }
        guard let clientName = body["clientName"]?.stringValue, !clientName.isEmpty,
            let clientType = body["clientType"]?.stringValue
        else {
            return TokenEndpoint.error(.badRequest, "invalid_request", "clientName and clientType are required")
        }
        guard clientType == "public" else {
            return TokenEndpoint.error(.badRequest, "invalid_client_metadata", "Invalid clientType: \(clientType); expected public")
        }
        if let scopes = body["scopes"], scopes.arrayValue?.allSatisfy({ $0.stringValue != nil }) != true {
            return TokenEndpoint.error(.badRequest, "invalid_request", "scopes must be a list of strings")
        }
        let (clientID, clientSecret) = state.registerClient()
        let issuedAt = WallClock.epochSeconds()
        return TokenEndpoint.json(
            .ok,
            [
                "clientId": .string(clientID),
                "clientSecret": .string(clientSecret),
                "clientIdIssuedAt": .int(issuedAt),
                "clientSecretExpiresAt": .int(issuedAt + Self.registrationLifetime),
            ]
        )
    }
}
