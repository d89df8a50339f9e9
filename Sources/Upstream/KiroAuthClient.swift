import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import ProxyModels

/// A token from Kiro's desktop auth service (`POST /refreshToken`); see the README's "Kiro accounts".
package struct KiroTokenGrant: Sendable, Equatable {
    package var accessToken: String
    /// Seconds; 3600 when the reply leaves it out.
    package var expiresIn: Int
    /// Present when the service rotated the refresh token; it must be stored before use.
    package var refreshToken: String?
    /// The account's CodeWhisperer profile (`arn:aws:codewhisperer:<region>:<account>:profile/<id>`), when the
    /// reply names one.
    package var profileARN: String?

    package init(accessToken: String, expiresIn: Int, refreshToken: String?, profileARN: String?) {
        self.accessToken = accessToken
        self.expiresIn = expiresIn
        self.refreshToken = refreshToken
        self.profileARN = profileARN
    }
}

/// Why a Kiro refresh failed. The message names the status and the service's error code, never a token.
package struct KiroAuthError: Error, Sendable, Equatable, CustomStringConvertible {
    package enum Kind: String, Sendable {
        /// The service refused the refresh token (400 `invalid_grant`, 401, 403): the account must sign in again.
        case refused
        /// Network errors, 429 and 5xx, a reply without an access token: worth retrying later.
        case transient
        /// Any other refusal (another 4xx): retried later with backoff, as its cause is unclear.
        case rejected
    }

    package var kind: Kind
    package var status: Int?
    package var message: String

    package init(kind: Kind, status: Int?, message: String) {
        self.kind = kind
        self.status = status
        self.message = message
    }

    package var description: String { "kiro \(kind.rawValue)\(status.map { " (HTTP \($0))" } ?? ""): \(message)" }
}

/// The client of Kiro's desktop auth service: the refresh a `kind: kiro` account makes instead of SSO OIDC's
/// `CreateToken`. Unsigned JSON: `{"refreshToken": ...}` in, `{"accessToken", "refreshToken", "expiresIn",
/// "profileArn"}` out.
///
/// ```swift
/// let grant = try await KiroAuthClient(http: clients.shared).refresh(
///     endpoint: KiroAuthClient.endpoint(region: nil), refreshToken: token, machineID: id, kiroVersion: "0.7.45", logger: logger)
/// ```
package struct KiroAuthClient: Sendable {
    package let http: UpstreamHTTPClient

    package init(http: UpstreamHTTPClient) {
        self.http = http
    }

    /// Kiro's desktop auth service in `region` (us-east-1 when `nil`).
    package static func endpoint(region: String?) -> String {
        "https://prod.\(region ?? "us-east-1").auth.desktop.kiro.dev"
    }

    /// Exchanges a Kiro refresh token for an access token. Also the way to check that a refresh token works
    /// (an import validates a token by refreshing it once; keep the grant's rotated token, the old one may be
    /// spent).
    ///
    /// - Parameters:
    ///   - endpoint: the auth service's base URL (``endpoint(region:)``, or `upstream.kiro_auth_endpoint`).
    ///   - machineID: the installation id for the `KiroIDE-<version>-<id>` user agent.
    ///   - kiroVersion: the Kiro IDE version of that user agent: the one the request template's `kiro_headers` name
    ///     (`RequestTemplate.kiroVersion`), so that an account's refreshes and requests name the same client.
    package func refresh(endpoint: String, refreshToken: String, machineID: String, kiroVersion: String, logger: Logger)
        async throws(KiroAuthError) -> KiroTokenGrant
    {
        let base = endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint
        var request = HTTPClientRequest(url: base + "/refreshToken")
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        request.headers.add(name: "accept", value: "application/json, text/plain, */*")
        request.headers.add(name: "user-agent", value: "KiroIDE-\(kiroVersion)-\(machineID)")
        let body: JSONValue = ["refreshToken": .string(refreshToken)]
        request.body = .bytes(ByteBuffer(bytes: body.jsonBytes))
        let status: Int
        let bytes: [UInt8]
        do {
            (status, bytes) = try await http.exchange(request, logger: logger)
        } catch {
            throw KiroAuthError(kind: .transient, status: nil, message: "auth service unreachable: \(String(describing: error))")
        }
        return try Self.grant(status: status, body: bytes)
    }

    /// Classifies the service's answer: the grant of a 200, or the error the pool maps to `refresh_failed`
    /// (``KiroAuthError/Kind/refused``) or to a retry.
    package static func grant(status: Int, body: [UInt8]) throws(KiroAuthError) -> KiroTokenGrant {
        let json = try? JSONParser.parse(body)
        if status == 200 {
            guard let json, let accessToken = json["accessToken"]?.stringValue, !accessToken.isEmpty else {
                throw KiroAuthError(kind: .transient, status: 200, message: "the refresh reply has no accessToken")
            }
            func nonEmpty(_ key: String) -> String? { json[key]?.stringValue.flatMap { $0.isEmpty ? nil : $0 } }
            return KiroTokenGrant(
                accessToken: accessToken, expiresIn: json["expiresIn"]?.intValue ?? 3600, refreshToken: nonEmpty("refreshToken"),
                profileARN: nonEmpty("profileArn"))
        }
        // Only codes and the service's own words reach the message; a reply is never quoted whole.
        let code = json?["error"]?.stringValue ?? json?["__type"]?.stringValue ?? ""
        let words = json?["error_description"]?.stringValue ?? json?["message"]?.stringValue ?? "HTTP \(status)"
        let message = code.isEmpty ? words : "\(code): \(words)"
        let kind: KiroAuthError.Kind =
            switch status {
            case 401, 403: .refused
            case 400 where code == "invalid_grant" || code.hasSuffix("InvalidGrantException") || code.hasSuffix("UnauthorizedException"): .refused
            case 429, 500...: .transient
            default: .rejected
            }
        throw KiroAuthError(kind: kind, status: status, message: String(message.prefix(300)))
    }
}
