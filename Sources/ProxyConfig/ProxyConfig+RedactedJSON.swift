import Foundation
import ProxyModels

extension ProxyConfig {
    /// The config as the admin API shows it (`GET /v2/config`): every setting with its YAML name, secrets
    /// replaced by `"set"` (keys are only counted), proxy and endpoint URLs without their credentials.
    package var redactedJSON: JSONValue {
        func duration(_ value: Duration) -> JSONValue { .string(DurationSyntax.format(value)) }
        func url(_ value: URL?) -> JSONValue { value.map { .string(AddressSyntax.redacted($0)) } ?? .null }
        return [
            "version": .int(version),
            "listeners": .array(listeners.map { ["address": .string($0.address.description), "open": .bool($0.open)] }),
            "api_keys": .array(apiKeys.map(\.redactedJSON)),
            "admin_keys": .string("\(adminKeys.count) set"),
            "metrics_keys": .string("\(metricsKeys.count) set"),
            "admin_open_on_loopback": .bool(adminOpenOnLoopback),
            "console": .bool(console),
            "upstream": [
                "endpoint": url(upstream.endpoint), "oidc_endpoint": url(upstream.oidcEndpoint),
                "kiro_auth_endpoint": url(upstream.kiroAuthEndpoint), "proxy": url(upstream.proxy),
                "connect_timeout": duration(upstream.connectTimeout), "read_timeout": duration(upstream.readTimeout),
                "template": upstream.templatePath.map(JSONValue.string) ?? .null,
            ],
            "models": [
                "default": .string(models.defaultModel), "unknown": .string(models.unknown.rawValue),
                "available": .array(models.available.map(JSONValue.string)), "discover": .bool(models.discover),
                "aliases": .object(models.aliases.sorted { $0.key < $1.key }.map { JSONMember($0.key, .string($0.value)) }),
            ],
            "balancing": [
                "strategy": .string(balancing.strategy.rawValue), "retries": .int(balancing.retries),
                "max_errors": .int(balancing.maxErrors), "error_window": duration(balancing.errorWindow),
                "cooldown": duration(balancing.cooldown), "max_cooldown": duration(balancing.maxCooldown),
                "affinity_ttl": duration(balancing.affinityTTL),
            ],
            "refresh": ["before_expiry": duration(refresh.beforeExpiry), "jitter": duration(refresh.jitter)],
            "state_dir": .string(stateDirectory),
            "shard": ["index": .int(shard.index), "count": .int(shard.count)],
            "reload": ["settle": duration(reload.settle)],
            "responses": [
                "store": .bool(responses.store), "retention": duration(responses.retention), "max_file_size": .int(responses.maxFileSize),
                "max_size": .int(responses.maxSize),
            ],
            "limits": [
                "max_body": .string(SizeSyntax.format(limits.maxBody)), "context_tokens": .int(limits.contextTokens),
                "body_timeout": duration(limits.bodyTimeout),
            ],
            "log": ["level": .string(log.level.rawValue), "format": .string(log.format.rawValue)],
            "accounts": .array(
                accounts.map { account in
                    [
                        "id": .string(account.id), "label": .string(account.label), "kind": .string(account.kind.rawValue),
                        "client_id": account.kind == .oidc ? "set" : .null, "client_secret": account.kind == .oidc ? "set" : .null,
                        "refresh_token": "set", "profile_arn": account.profileARN.map(JSONValue.string) ?? .null,
                        "enabled": .bool(account.enabled), "weight": .int(account.weight), "tier": .int(account.tier),
                        "region": account.region.map(JSONValue.string) ?? .null, "endpoint": url(account.endpoint),
                        "proxy": url(account.proxy), "shard": .int(shard.shard(of: account.id, explicit: account.shard)),
                    ]
                }),
        ]
    }
}
