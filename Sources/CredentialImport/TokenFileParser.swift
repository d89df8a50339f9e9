import Foundation
import ProxyModels

/// Turns the JSON of a token file (any of the formats `q2api import` knows) into an ``ImportCandidate``.
///
/// The formats (README "Importing credentials" has the sources):
/// - the Kiro IDE's `kiro-auth-token.json`: camelCase `accessToken`, `refreshToken`, `expiresAt`, `authMethod`
///   (`social` or `IdC`), `provider`, `profileArn`, `region`, and for IdC `clientIdHash`, the name of the client
///   registration file (`<clientIdHash>.json`, with `clientId`, `clientSecret`) beside it;
/// - an AWS SSO cache file: camelCase `accessToken`, `expiresAt`, `refreshToken`, `clientId`, `clientSecret`,
///   `region`, `startUrl`;
/// - a CLI database row (`codewhisperer:odic:token`, `kirocli:odic:token`, `kirocli:social:token`): snake_case
///   `access_token`, `expires_at`, `refresh_token`, `region`, `start_url`, `profile_arn`, with the registration
///   row (`…:device-registration`: `client_id`, `client_secret`) beside it.
///
/// Both spellings are read for every member, so a file that mixes them (hand-made, or another proxy's) works too.
package enum TokenFileParser {
    /// Parses `bytes` as a JSON object.
    /// - Throws: ``ImportError`` `.corrupt`, naming `origin`.
    package static func object(_ bytes: [UInt8], origin: String) throws(ImportError) -> JSONValue {
        guard let value = try? JSONParser.parse(bytes), case .object = value else {
            throw ImportError(.corrupt, "\(origin) is not a JSON object")
        }
        return value
    }

    /// The candidate `token` describes, with its client registration from `registration` (a client file or a
    /// device-registration row) when the token itself carries none.
    /// - Parameters:
    ///   - socialHint: the token came from a store of social sign-ins (`kirocli:social:token`).
    /// - Throws: ``ImportError`` `.corrupt` when the token has no refresh token, or needs a client registration
    ///   that is missing.
    package static func candidate(
        token: JSONValue, registration: JSONValue?, source: String, origin: String, socialHint: Bool = false
    ) throws(ImportError) -> ImportCandidate {
        guard let refreshToken = string(token, "refreshToken", "refresh_token") else {
            throw ImportError(.corrupt, "\(origin) has no refreshToken: it cannot be refreshed, so it cannot be imported")
        }
        let authMethod = string(token, "authMethod", "auth_method")
        let provider = string(token, "provider")
        let clientID = string(token, "clientId", "client_id") ?? registration.flatMap { string($0, "clientId", "client_id") }
        let clientSecret = string(token, "clientSecret", "client_secret") ?? registration.flatMap { string($0, "clientSecret", "client_secret") }
        let hash = string(token, "clientIdHash")
        let isKiroIDE = authMethod != nil || provider != nil || hash != nil
        let format: String
        if isKiroIDE {
            format = "Kiro IDE token cache"
        } else if token["access_token"] != nil || token["refresh_token"] != nil {
            format = "CLI database token"
        } else {
            format = "AWS SSO cache"
        }
        let credential: ImportCandidate.Credential
        if let clientID, let clientSecret {
            credential = .oidc(clientID: clientID, clientSecret: clientSecret)
        } else if socialHint || authMethod?.lowercased() == "social" {
            credential = .kiroSocial
        } else if let hash {
            throw ImportError(
                .missingFile,
                "\(origin) is an Identity Center / Builder ID sign-in whose client registration file \(hash).json "
                    + "(clientId, clientSecret) is missing; it is written beside the token by the Kiro IDE")
        } else if isKiroIDE && authMethod?.lowercased() != "idc" {
            credential = .kiroSocial
        } else {
            throw ImportError(.corrupt, "\(origin) has no client registration (clientId and clientSecret) and is not a Kiro social sign-in")
        }
        return ImportCandidate(
            source: source, origin: origin, format: format, credential: credential, refreshToken: refreshToken,
            accessToken: string(token, "accessToken", "access_token"),
            expiresAt: string(token, "expiresAt", "expires_at").flatMap(date),
            region: string(token, "region") ?? registration.flatMap { string($0, "region") },
            profileARN: string(token, "profileArn", "profile_arn"), startURL: string(token, "startUrl", "start_url"),
            signIn: [authMethod, provider].compactMap { $0 }.joined(separator: " / ").nilIfEmpty)
    }

    /// The first of `keys` that holds a non-empty string.
    static func string(_ object: JSONValue, _ keys: String...) -> String? {
        for key in keys {
            if let value = object[key]?.stringValue?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty { return value }
        }
        return nil
    }

    /// An RFC 3339 date, with or without fractional seconds (`2025-10-08T17:12:56.785Z`, `2025-10-08T17:12:56Z`).
    static func date(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }
}

extension String {
    fileprivate var nilIfEmpty: String? { isEmpty ? nil : self }
}
