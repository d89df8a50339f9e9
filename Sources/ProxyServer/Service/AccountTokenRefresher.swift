import Accounts
import Foundation
import Logging
import ProxyConfig
import Upstream

/// The pool's ``TokenRefresher``: one refresh client per account kind, each with its own error mapping onto
/// ``TokenRefreshError`` (a refused refresh is permanent, so the account becomes `refresh_failed`; network errors
/// and 5xx are retried with backoff).
package enum AccountTokenRefresher {
    /// - Parameters:
    ///   - upstream: `oidc_endpoint` for `kind: oidc`, `kiro_auth_endpoint` (or each account's region's) for `kind: kiro`.
    ///   - clients: the HTTP client of each account's proxy.
    ///   - kiroVersion: the Kiro IDE version a Kiro refresh's user agent names: the request template's
    ///     (`RequestTemplate.kiroVersion`, from its `kiro_headers`), the one place that version is set.
    package static func make(upstream: ProxyConfig.Upstream, clients: UpstreamClients, kiroVersion: String, logger: Logger) -> TokenRefresher {
        { credentials throws(TokenRefreshError) in
            do {
                let http = try clients.client(proxy: credentials.proxy)
                switch credentials.kind {
                case .oidc:
                    return try await refreshOIDC(credentials, endpoint: upstream.oidcEndpoint.absoluteString, http: http, logger: logger)
                case .kiro:
                    let endpoint = upstream.kiroAuthEndpoint(region: credentials.region).absoluteString
                    return try await refreshKiro(credentials, endpoint: endpoint, kiroVersion: kiroVersion, http: http, logger: logger)
                }
            } catch let error as UpstreamConfigurationError {
                throw TokenRefreshError(isPermanent: false, message: "the account's proxy: \(error.message)")
            } catch let error as TokenRefreshError {
                throw error
            } catch {
                throw TokenRefreshError(isPermanent: false, message: "token refresh failed")
            }
        }
    }

    static func refreshOIDC(_ credentials: AccountCredentials, endpoint: String, http: UpstreamHTTPClient, logger: Logger)
        async throws(TokenRefreshError) -> RefreshedToken
    {
        do {
            let grant = try await OIDCClient(http: http).refresh(
                endpoint: endpoint, clientID: credentials.clientID, clientSecret: credentials.clientSecret,
                refreshToken: credentials.refreshToken, logger: logger)
            return RefreshedToken(accessToken: grant.accessToken, expiresIn: .seconds(grant.expiresIn), refreshToken: grant.refreshToken)
        } catch {
            throw TokenRefreshError(isPermanent: error.kind == .invalidGrant || error.kind == .invalidClient, message: error.description)
        }
    }

    /// Refreshes a `kind: kiro` account at Kiro's desktop auth service. Also what validates a Kiro refresh token
    /// before it is saved (an import): the returned token's `refreshToken`, when set, replaces the one given.
    package static func refreshKiro(
        _ credentials: AccountCredentials, endpoint: String, kiroVersion: String, http: UpstreamHTTPClient, logger: Logger
    ) async throws(TokenRefreshError) -> RefreshedToken {
        do {
            let grant = try await KiroAuthClient(http: http).refresh(
                endpoint: endpoint, refreshToken: credentials.refreshToken, machineID: credentials.kiroMachineID, kiroVersion: kiroVersion,
                logger: logger)
            return RefreshedToken(
                accessToken: grant.accessToken, expiresIn: .seconds(grant.expiresIn), refreshToken: grant.refreshToken,
                profileARN: grant.profileARN)
        } catch {
            throw TokenRefreshError(isPermanent: error.kind == .refused, message: error.description)
        }
    }
}
