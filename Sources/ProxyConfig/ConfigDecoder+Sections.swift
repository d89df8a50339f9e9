// The small sections: each key is one value with its bounds.

extension ConfigDecoder {
    /// `balancing`.
    static let balancingKeys = KeyTable<ProxyConfig.Balancing>([
        .choice("strategy", \.strategy),
        .int("retries", \.retries, minimum: 0),
        .int("max_errors", \.maxErrors, minimum: 1),
        .duration("error_window", \.errorWindow, minimum: .milliseconds(1)),
        .duration("cooldown", \.cooldown),
        .duration("max_cooldown", \.maxCooldown, minimum: .milliseconds(1)),
        .duration("affinity_ttl", \.affinityTTL),
    ])

    /// `refresh`.
    static let refreshKeys = KeyTable<ProxyConfig.Refresh>([
        .duration("before_expiry", \.beforeExpiry),
        .duration("jitter", \.jitter),
    ])

    /// `limits`.
    static let limitsKeys = KeyTable<ProxyConfig.Limits>([
        .size("max_body", \.maxBody, minimum: 1),
        .int("context_tokens", \.contextTokens, minimum: 1),
        .duration("body_timeout", \.bodyTimeout, minimum: .seconds(1)),
    ])

    /// `log`.
    static let logKeys = KeyTable<ProxyConfig.Log>([
        .choice("level", \.level),
        .choice("format", \.format),
    ])

    /// `shard`. The index is checked against the count once both were read.
    static let shardKeys = KeyTable<ProxyConfig.Shard>(
        [
            .int("index", \.index, minimum: 0),
            .int("count", \.count, minimum: 1),
        ],
        check: { decoder, map, shard in
            guard let field = map["index"], shard.index >= shard.count else { return }
            decoder.reader.report("must be less than shard.count (\(shard.count)); shards are numbered from 0", field)
            shard.index = ProxyConfig.Shard().index
        }
    )

    /// `reload`.
    static let reloadKeys = KeyTable<ProxyConfig.Reload>([
        .duration("settle", \.settle)
    ])

    /// `responses`.
    static let responsesKeys = KeyTable<ProxyConfig.Responses>([
        .bool("store", \.store),
        .duration("retention", \.retention, minimum: .seconds(1)),
        .size("max_file_size", \.maxFileSize, minimum: 4096),
        .size("max_size", \.maxSize, minimum: 4096),
    ])
}
