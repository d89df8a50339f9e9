/// The document while it is read: the configuration so far, and what the checks spanning several sections need.
struct ConfigDraft {
    var config: ProxyConfig
    /// Where each of `config.listeners` came from; `nil` for the default listener of a file without `listeners`.
    var listenerFields: [Field?] = [nil]
    /// Whether every `api_keys` entry was valid. When one was not, the open-listener check is skipped, to avoid a
    /// misleading second message.
    var apiKeysComplete = true
    /// The `api_keys[].models` entries, checked against the `models` section once the whole file is read.
    var apiKeyModelFields: [(name: String, field: Field)] = []
}

extension ConfigDecoder {
    /// The top level of `q2api.yaml`.
    static let rootKeys = KeyTable<ConfigDraft>(
        [
            ConfigKey("version", .required(hint: "; write version: 1 as the first line")) { decoder, field, draft in
                guard let version = decoder.reader.int(field, minimum: 0) else { return }
                if version == 1 {
                    draft.config.version = version
                } else {
                    decoder.reader.report("unsupported version \(version); this q2api reads version 1", field)
                }
            },
            .list("listeners", of: listenerKeys) { decoder, field, table, draft in
                let decoded = decoder.decodeListeners(field, table)
                draft.config.listeners = decoded.map(\.listener)
                draft.listenerFields = decoded.map(\.field)
            },
            // Plain strings or mappings of `apiKeyKeys`, so not a `.list`; its keys are listed all the same.
            ConfigKey("api_keys", nested: { apiKeyKeys.keySets(at: $0 + "[]") }) { decoder, field, draft in
                let decoded = decoder.decodeAPIKeys(field)
                draft.config.apiKeys = decoded.keys
                draft.apiKeysComplete = decoded.complete
                draft.apiKeyModelFields = decoded.modelFields
            },
            ConfigKey("admin_keys") { decoder, field, draft in
                draft.config.adminKeys = decoder.decodeKeys(field).keys
            },
            .bool("admin_open_on_loopback", \.config.adminOpenOnLoopback),
            ConfigKey("metrics_keys") { decoder, field, draft in
                draft.config.metricsKeys = decoder.decodeKeys(field).keys
            },
            .bool("console", \.config.console),
            .section("upstream", \.config, upstreamKeys),
            .section("models", modelsKeys) { decoder, field, table, draft in
                var models = ModelsDraft()
                table.read(field, with: decoder, into: &models)
                draft.config.models = models.models
            },
            .section("balancing", \.config.balancing, balancingKeys),
            .section("refresh", \.config.refresh, refreshKeys),
            ConfigKey("state_dir") { decoder, field, draft in
                guard let path = decoder.reader.nonEmptyString(field) else { return }
                draft.config.stateDirectory = PathSyntax.resolve(path, against: decoder.baseDirectory)
            },
            .section("limits", \.config.limits, limitsKeys),
            .section("log", \.config.log, logKeys),
            .list("accounts", of: accountKeys) { decoder, field, table, draft in
                draft.config.accounts = decoder.decodeAccounts(field, table)
            },
            .section("shard", \.config.shard, shardKeys),
            .section("reload", \.config.reload, reloadKeys),
            .section("responses", \.config.responses, responsesKeys),
        ],
        check: { decoder, map, draft in
            decoder.checkAccountShards(map, draft.config)
            decoder.checkOpenListeners(map, draft)
            decoder.checkKeyModels(draft.apiKeyModelFields, draft.config.models)
        }
    )

    /// `admin_keys` / `metrics_keys`: a list of non-empty strings. `complete` is false when any entry
    /// had an error.
    func decodeKeys(_ field: Field) -> (keys: [Secret], complete: Bool) {
        guard let items = self.reader.sequence(field) else { return ([], false) }
        var keys: [Secret] = []
        var complete = true
        var seen: [String: Int] = [:]
        for (index, item) in items.enumerated() {
            guard let value = self.reader.nonEmptyString(item) else {
                complete = false
                continue
            }
            if let first = seen[value] {
                self.reader.report("duplicates \(field.path)[\(first)]", item)
                continue
            }
            seen[value] = index
            keys.append(Secret(value))
        }
        return (keys, complete)
    }

    // MARK: - Checks across sections

    /// An account pinned to a shard that `shard.count` does not have would be served by no instance.
    private func checkAccountShards(_ map: MappingFields, _ config: ProxyConfig) {
        guard let field = map["accounts"] else { return }
        for (index, account) in config.accounts.enumerated() {
            if let shard = account.shard, shard >= config.shard.count {
                self.reader.report(
                    "account \(account.id) names shard \(shard), but shard.count is \(config.shard.count): no instance would serve it",
                    at: field.position, path: ConfigPath.root.key("accounts").index(index).key("shard"))
            }
        }
    }

    /// An empty whitelist means no authentication: only where nobody else can reach the server, or where the
    /// operator said so. Skipped when `api_keys` itself had errors, to avoid a misleading second message.
    private func checkOpenListeners(_ map: MappingFields, _ draft: ConfigDraft) {
        guard draft.config.apiKeys.isEmpty, draft.apiKeysComplete else { return }
        for (listener, field) in zip(draft.config.listeners, draft.listenerFields)
        where !listener.address.isLoopback && !listener.open {
            let message =
                "listener \(listener.address) is not a loopback address and api_keys is empty, so anyone who can reach it could use the accounts; add api_keys, or set open: true on this listener"
            if let field {
                self.reader.report(message, field)
            } else {
                self.reader.report(message, at: map.field.position, path: ConfigPath.root.key("listeners"))
            }
        }
    }
}
