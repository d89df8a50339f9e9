import HTTPTypes
import Hummingbird
import ProxyModels

/// `POST /device_authorization`: the SSO OIDC StartDeviceAuthorization operation (AMAZON_Q.md §7.3).
///
/// The verification URI points back at this simulator (``DeviceControlEndpoint``'s page), built from the
/// request's `Host`, so that a person running `q2api simulate` can open it and approve the login.
enum DeviceAuthorizationEndpoint {
    /// Where the verification page lives on the simulator.
    static let verificationPath = "/__sim/device"

    static func respond(to request: Request, options: SimulatorOptions, state: SimulatorState) async throws -> Response {
        guard let body = try await TokenEndpoint.jsonObject(request) else {
            return TokenEndpoint.error(.badRequest, "invalid_request", "Request body is not a JSON object")
        }
        guard let clientID = body["clientId"]?.stringValue, let clientSecret = body["clientSecret"]?.stringValue,
            let startURL = body["startUrl"]?.stringValue
        else {
            return TokenEndpoint.error(.badRequest, "invalid_request", "clientId, clientSecret and startUrl are required")
        }
        guard startURL.hasPrefix("https://") || startURL.hasPrefix("http://") else {
            return TokenEndpoint.error(.badRequest, "invalid_request", "startUrl must be an http(s) URL")
        }
        if let refusal = TokenEndpoint.clientRefusal(state.checkClient(clientID, secret: clientSecret, options: options)) {
            return refusal
        }
        let (deviceCode, userCode) = state.startDeviceAuthorization(clientID: clientID, options: options)
        let verificationURI = Self.baseURL(of: request) + Self.verificationPath
        return TokenEndpoint.json(
            .ok,
            [
                "deviceCode": .string(deviceCode),
                "userCode": .string(userCode),
                "verificationUri": .string(verificationURI),
                "verificationUriComplete": .string(verificationURI + "?user_code=" + userCode),
                "expiresIn": .int(options.deviceCodeLifetime),
                "interval": .int(options.deviceInterval),
            ]
        )
    }

    /// `http://` and the host the client reached us at; the simulator serves plain HTTP only.
    static func baseURL(of request: Request) -> String {
        let host = request.head.authority ?? request.headers[HTTPField.Name("host")!] ?? "127.0.0.1"
        return "http://" + host
    }
}
