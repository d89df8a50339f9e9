import Foundation

extension ProxyConfig {
    /// A human description of the configuration for `q2api check`, with no secret values: keys and secrets are
    /// counted, never shown, and credentials in proxy or endpoint URLs are replaced by `<redacted>`.
    ///
    /// ```text
    /// config: /etc/q2api/q2api.yaml (version 1)
    /// listeners: 127.0.0.1:8080 (loopback)
    /// api_keys: 1 configured
    /// ...
    /// ```
    package func redactedSummary() -> String {
        var lines: [String] = []
        lines.append("config: \(self.sourcePath) (version \(self.version))")
        let listeners = self.listeners.map { listener -> String in
            var notes: [String] = []
            if listener.address.isLoopback { notes.append("loopback") }
            if listener.open { notes.append("open") }
            return notes.isEmpty ? "\(listener.address)" : "\(listener.address) (\(notes.joined(separator: ", ")))"
        }
        lines.append("listeners: \(listeners.joined(separator: ", "))")
        lines.append(
            "api_keys: \(self.apiKeys.isEmpty ? "none (no client authentication)" : "\(self.apiKeys.count) configured")"
        )
        for key in self.apiKeys {
            lines.append("  \(key.summary)")
        }
        lines.append("admin_keys: \(self.adminKeys.isEmpty ? "none" : "\(self.adminKeys.count) configured")")
        if !self.metricsKeys.isEmpty { lines.append("metrics_keys: \(self.metricsKeys.count) configured") }
        lines.append("console: \(self.console ? "enabled" : "disabled")")

        let upstream = self.upstream
        lines.append("upstream:")
        lines.append("  endpoint: \(AddressSyntax.redacted(upstream.endpoint))")
        lines.append("  oidc_endpoint: \(AddressSyntax.redacted(upstream.oidcEndpoint))")
        if let kiro = upstream.kiroAuthEndpoint { lines.append("  kiro_auth_endpoint: \(AddressSyntax.redacted(kiro))") }
        lines.append("  proxy: \(upstream.proxy.map(AddressSyntax.redacted) ?? "none")")
        lines.append(
            "  timeouts: connect \(DurationSyntax.format(upstream.connectTimeout)), read \(DurationSyntax.format(upstream.readTimeout))"
        )
        if let template = self.templateSource {
            lines.append("  template: \(template.path) (\(template.text.utf8.count) bytes)")
        } else {
            lines.append("  template: built-in")
        }

        let models = self.models
        lines.append("models:")
        lines.append("  default: \(models.defaultModel)")
        lines.append("  unknown names: \(models.unknown == .useDefault ? "served by the default model" : "rejected")")
        lines.append("  available: \(models.available.joined(separator: ", "))")
        lines.append("  discovery: \(models.discover ? "the models each account reports are served too" : "off")")
        lines.append("  aliases: \(models.aliases.count)")
        for (name, target) in models.aliases.sorted(by: { $0.key < $1.key }) {
            lines.append("    \(name) -> \(target)")
        }

        let balancing = self.balancing
        lines.append(
            "balancing: \(balancing.strategy.rawValue), retries \(balancing.retries), throttle cooldown \(DurationSyntax.format(balancing.cooldown))-\(DurationSyntax.format(balancing.maxCooldown)), auto-disable after \(balancing.maxErrors) errors in \(DurationSyntax.format(balancing.errorWindow)), session affinity \(DurationSyntax.format(balancing.affinityTTL))"
        )
        lines.append(
            "refresh: \(DurationSyntax.format(self.refresh.beforeExpiry)) before expiry, jitter \(DurationSyntax.format(self.refresh.jitter))"
        )
        lines.append("state_dir: \(self.stateDirectory)")
        lines.append("reload: applied once the file reads the same twice \(DurationSyntax.format(self.reload.settle)) apart")
        lines.append(
            self.responses.store
                ? "responses: stored in \(self.stateDirectory)/responses for \(DurationSyntax.format(self.responses.retention)), files of \(SizeSyntax.format(self.responses.maxFileSize)), at most \(SizeSyntax.format(self.responses.maxSize))"
                : "responses: not stored (store: false)")
        lines.append(
            "limits: max_body \(SizeSyntax.format(self.limits.maxBody)), context_tokens \(self.limits.contextTokens), body_timeout \(DurationSyntax.format(self.limits.bodyTimeout))"
        )
        lines.append("log: \(self.log.level.rawValue), \(self.log.format.rawValue)")

        let enabled = self.accounts.filter(\.enabled).count
        lines.append("accounts: \(self.accounts.count) (\(enabled) enabled)")
        for account in self.accounts {
            var details = [account.enabled ? "enabled" : "disabled", "weight \(account.weight)"]
            // OIDC is the default kind; a Kiro account says so first.
            if account.kind != .oidc { details.insert("kind \(account.kind.rawValue)", at: 0) }
            if account.tier != 0 { details.append("tier \(account.tier)") }
            if let region = account.region { details.append("region \(region)") }
            if let arn = account.profileARN { details.append("profile \(arn)") }
            if let endpoint = account.endpoint { details.append("endpoint \(AddressSyntax.redacted(endpoint))") }
            if let proxy = account.proxy { details.append("proxy \(AddressSyntax.redacted(proxy))") }
            details.append("credentials set")
            let label = account.label == account.id ? "" : " \"\(account.label)\""
            lines.append("  - \(account.id)\(label): \(details.joined(separator: ", "))")
        }
        return lines.joined(separator: "\n")
    }
}
