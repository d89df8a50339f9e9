import Accounts
import Foundation
import Logging
import ProxyConfig
import ServiceLifecycle
import Translation
import UnixSignals
import Upstream

/// The whole server as one `Service`: the upstream client, the account pool and one HTTP
/// application per listener, run under a `ServiceGroup` that drains on SIGTERM/SIGINT.
package struct ProxyServerService: Service {
    let config: ProxyConfig
    let template: RequestTemplate
    let logger: Logger
    let onBound: @Sendable (ServerSettings.Listener, Int) async -> Void

    package init(config: ProxyConfig, template: RequestTemplate, logger: Logger, onBound: @escaping @Sendable (ServerSettings.Listener, Int) async -> Void = { _, _ in }) {
        self.config = config
        self.template = template
        self.logger = logger
        self.onBound = onBound
    }

    package func run() async throws {
        let http = try UpstreamHTTPClient(
            settings: .init(connectTimeout: config.upstream.connectTimeout, readTimeout: config.upstream.readTimeout, proxy: config.upstream.proxy?.absoluteString))
        let oidc = OIDCClient(http: http)
        let oidcEndpoint = config.upstream.oidcEndpoint.absoluteString
        let refreshLogger = logger
        let pool = AccountPool(
            accounts: config.accounts.map(AccountCredentials.init), refreshMargin: config.refresh.beforeExpiry,
            refresher: { credentials throws(TokenRefreshError) in
                do {
                    let grant = try await oidc.refresh(
                        endpoint: oidcEndpoint, clientID: credentials.clientID, clientSecret: credentials.clientSecret,
                        refreshToken: credentials.refreshToken, logger: refreshLogger)
                    return RefreshedToken(accessToken: grant.accessToken, expiresIn: .seconds(grant.expiresIn), refreshToken: grant.refreshToken)
                } catch let error as OIDCError {
                    throw TokenRefreshError(
                        isPermanent: error.kind == .invalidGrant || error.kind == .invalidClient, message: error.description)
                } catch {
                    throw TokenRefreshError(isPermanent: false, message: "token refresh failed")
                }
            },
            logger: logger)
        let settings = ServerSettings(config: config, template: template, generation: 1)
        let runtime = ProxyRuntime(settings: settings, pool: pool, qClient: AmazonQClient(http: http), logger: logger)
        let applications = ProxyServerBuilder.applications(runtime: runtime, listeners: settings.listeners, onBound: onBound)
        let group = ServiceGroup(
            configuration: .init(
                services: applications.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) },
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        do {
            try await group.run()
        } catch {
            try? await http.shutdown()
            throw error
        }
        try await http.shutdown()
    }
}
