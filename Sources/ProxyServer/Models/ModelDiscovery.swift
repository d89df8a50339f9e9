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

    /// How long a failed listing waits before the same token is tried again.
    var retryAfterFailure: Duration = .seconds(60)

    func run() async {
        var asked: [String: String] = [:]  // account id → the access token its models were listed with
        var failed: [String: (token: String, at: ContinuousClock.Instant)] = [:]
        while !Task.isCancelled {
            if runtime.settings.modelDiscovery {
                let accounts = runtime.pool.accountsWithValidTokens()
                // Accounts removed or disabled take their models with them, and are asked again if they come back.
                let current = Set(accounts.map(\.credentials.id))
                runtime.modelCatalog.keep(accounts: current)
                asked = asked.filter { current.contains($0.key) }
                for (credentials, token) in accounts where asked[credentials.id] != token {
                    if let failure = failed[credentials.id], failure.token == token, failure.at + retryAfterFailure > .now { continue }
                    if await discover(credentials, token: token) {
                        asked[credentials.id] = token
                        failed[credentials.id] = nil
                    } else {
                        failed[credentials.id] = (token, .now)
                    }
                }
            }
            try? await Task.sleep(for: interval)
        }
    }

    /// Lists the account's models into the catalog; false when the listing failed.
    private func discover(_ account: AccountCredentials, token: String) async -> Bool {
        let settings = runtime.settings
        do {
            let client = try runtime.qClient(for: account)
            let models = try await client.listAvailableModels(
                endpoint: account.endpoint ?? settings.upstreamEndpoint, accessToken: token, profileARN: account.effectiveProfileARN,
                logger: runtime.logger)
            let ids = models.map(\.id).filter { $0 != "auto" }
            if runtime.modelCatalog.models(of: account.id) != ids {
                runtime.logger.info("models discovered", metadata: ["account": "\(account.id)", "models": "\(ids.joined(separator: ","))"])
            }
            runtime.modelCatalog.update(account: account.id, models: ids)
            return true
        } catch {
            runtime.logger.debug(
                "model discovery failed; the configured models stay in use", metadata: ["account": "\(account.id)", "error": "\(error)"])
            return false
        }
    }
}
