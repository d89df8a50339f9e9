import Accounts
import Foundation
import ProxyConfig
import Translation

extension ServerSettings {
    /// The request-path view of a validated config.
    package init(config: ProxyConfig, template: RequestTemplate, generation: Int) {
        let models = config.models
        self.init(
            listeners: config.listeners.map { Listener(host: $0.address.host, port: $0.address.port, open: $0.open) },
            apiKeys: config.apiKeys,
            maxBodyBytes: config.limits.maxBody,
            maxInputTokens: config.limits.contextTokens,
            retries: config.balancing.retries,
            upstreamEndpoint: config.upstream.endpoint.absoluteString,
            template: template,
            models: models.available,
            resolveModel: { name, discovered in
                let resolution = models.resolveModel(name, discovered: discovered)
                guard let id = resolution.upstreamID else { return nil }
                return ModelChoice(upstreamID: id, thinking: resolution.thinking)
            },
            configGeneration: generation,
            configPath: config.sourcePath)
        self.bodyTimeout = config.limits.bodyTimeout
        self.adminKeys = config.adminKeys.map(\.value)
        self.adminOpenOnLoopback = config.adminOpenOnLoopback
        self.metricsKeys = config.metricsKeys.map(\.value)
        self.console = config.console
        self.modelDiscovery = models.discover
        self.modelNames = Set((models.available + models.aliases.keys).map { $0.lowercased() })
    }
}

extension AccountCredentials {
    package init(_ account: ProxyConfig.Account) {
        self.init(
            id: account.id, label: account.label, kind: account.kind, clientID: account.clientID.value,
            clientSecret: account.clientSecret.value, refreshToken: account.refreshToken.value, profileARN: account.profileARN,
            endpoint: account.effectiveEndpoint?.absoluteString, proxy: account.proxy?.absoluteString, enabled: account.enabled,
            weight: account.weight, tier: account.tier, region: account.region)
    }
}
