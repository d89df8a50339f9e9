import Accounts
import Logging
import ProxyModels
import Upstream

/// Asks each account which models it may use (`ListAvailableModels`) whenever it holds a token that has
/// not been asked yet: after startup (saved tokens) and after every refresh. It never refreshes a token
/// itself, so discovery adds no load on the token endpoint. `models.discover: false` turns it off.
struct ModelDiscovery: Sendable {
    let runtime: ProxyRuntime
    /// How often the pool is looked at for new tokens (a local check; the network is used only for a new token).
    var interval: Duration = .seconds(2)

    func run() async {
        var asked: [String: String] = [:]  // account id → the access token its models were asked with
        while !Task.isCancelled {
            if runtime.settings.modelDiscovery {
                let accounts = runtime.pool.accountsWithValidTokens()
                runtime.modelCatalog.keep(accounts: Set(runtime.pool.snapshot().map(\.id)))
                for (credentials, token) in accounts where asked[credentials.id] != token {
                    asked[credentials.id] = token
                    await discover(credentials, token: token)
                }
            }
            try? await Task.sleep(for: interval)
        }
    }

    private func discover(_ account: AccountCredentials, token: String) async {
        let settings = runtime.settings
        do {
            let client = try runtime.qClient(for: account)
            let models = try await client.listAvailableModels(
                endpoint: account.endpoint ?? settings.upstreamEndpoint, accessToken: token, profileArn: account.profileArn,
                logger: runtime.logger)
            let ids = models.map(\.id).filter { $0 != "auto" }
            if runtime.modelCatalog.models(of: account.id) != ids {
                runtime.logger.info("models discovered", metadata: ["account": "\(account.id)", "models": "\(ids.joined(separator: ","))"])
            }
            runtime.modelCatalog.update(account: account.id, models: ids)
        } catch {
            runtime.logger.debug("model discovery failed; the configured models stay in use", metadata: ["account": "\(account.id)", "error": "\(error)"])
        }
    }
}
