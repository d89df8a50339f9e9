import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import ProxyModels

/// A token from SSO OIDC `CreateToken` (AMAZON_Q.md §7.4).
package struct TokenGrant: Sendable, Equatable {
    package var accessToken: String
    package var expiresIn: Int
    /// Present when the service rotated the refresh token; it must be stored before use.
    package var refreshToken: String?

    package init(accessToken: String, expiresIn: Int, refreshToken: String?) {
        self.accessToken = accessToken
        self.expiresIn = expiresIn
        self.refreshToken = refreshToken
    }
}

/// Why a token call failed. `error` is the OIDC error code (`invalid_grant`, …), never a secret.
package struct OIDCError: Error, Sendable, Equatable, CustomStringConvertible {
    package enum Kind: String, Sendable {
        /// The refresh token is bad, expired or revoked: the account must log in again.
        case invalidGrant = "invalid_grant"
        /// The client registration is bad or expired.
        case invalidClient = "invalid_client"
        /// Device flow: the user has not approved yet.
        case authorizationPending = "authorization_pending"
        case slowDown = "slow_down"
        case expiredToken = "expired_token"
        case accessDenied = "access_denied"
        /// Network errors and 5xx: worth retrying later.
        case transient
        /// Any other refusal.
        case rejected
    }

    package var kind: Kind
    package var status: Int?
    package var message: String

    package var description: String { "\(kind.rawValue)\(status.map { " (HTTP \($0))" } ?? ""): \(message)" }
}

/// The SSO OIDC client: token refresh (and, later, the device flow), unsigned REST-JSON.
package struct OIDCClient: Sendable {
    package let http: UpstreamHTTPClient

    package init(http: UpstreamHTTPClient) {
        self.http = http
    }

    package func refresh(endpoint: String, clientID: String, clientSecret: String, refreshToken: String, logger: Logger) async throws(OIDCError)
        -> TokenGrant
    {
        let body: JSONValue = [
            "grantType": "refresh_token", "clientId": .string(clientID), "clientSecret": .string(clientSecret),
            "refreshToken": .string(refreshToken),
        ]
        let response = try await post(endpoint: endpoint, path: "/token", body: body, logger: logger)
        guard let accessToken = response["accessToken"]?.stringValue, !accessToken.isEmpty else {
            throw OIDCError(kind: .transient, status: 200, message: "the token response has no accessToken")
        }
        return TokenGrant(
            accessToken: accessToken, expiresIn: response["expiresIn"]?.intValue ?? 3600,
            refreshToken: response["refreshToken"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 })
    }

    /// POSTs JSON and returns the JSON reply of a 200, or the classified error.
    package func post(endpoint: String, path: String, body: JSONValue, logger: Logger) async throws(OIDCError) -> JSONValue {
        let base = endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint
        var request = HTTPClientRequest(url: base + path)
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        request.headers.add(name: "user-agent", value: "aws-sdk-rust/1.3.9 os/linux lang/rust/1.87.0")
        request.headers.add(
            name: "x-amz-user-agent", value: "aws-sdk-rust/1.3.9 ua/2.1 api/ssooidc/1.88.0 os/linux lang/rust/1.87.0 m/E app/AmazonQ-For-CLI")
        request.headers.add(name: "amz-sdk-request", value: "attempt=1; max=3")
        request.headers.add(name: "amz-sdk-invocation-id", value: UUID().uuidString.lowercased())
        request.body = .bytes(ByteBuffer(bytes: body.jsonBytes))
        let status: Int
        let bytes: [UInt8]
        do {
            (status, bytes) = try await http.exchange(request, logger: logger)
        } catch {
            throw OIDCError(kind: .transient, status: nil, message: "token endpoint unreachable: \(String(describing: error))")
        }
        let json = try? JSONParser.parse(bytes)
        if status == 200, let json { return json }
        let code = json?["error"]?.stringValue ?? ""
        let description = json?["error_description"]?.stringValue ?? json?["message"]?.stringValue ?? "HTTP \(status)"
        let kind =
            OIDCError.Kind(rawValue: code).flatMap { $0 == .transient || $0 == .rejected ? nil : $0 }
            ?? (status >= 500 || status == 429 ? .transient : (status == 401 ? .invalidClient : .rejected))
        throw OIDCError(kind: kind, status: status, message: description)
    }
}
