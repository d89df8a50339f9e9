import Foundation
import Yams

/// Turns the composed YAML document into a ``ProxyConfig``: defaults, conversions, `*_file` reads and the checks
/// that span several keys. Every problem goes to the ``NodeReader``; decoding always runs to the end.
final class ConfigDecoder {
    private let reader: NodeReader
    private let sourcePath: String
    private let baseDirectory: String
    private let readFile: (String) throws -> String

    init(reader: NodeReader, sourcePath: String, readFile: @escaping (String) throws -> String) {
        self.reader = reader
        self.sourcePath = sourcePath
        self.baseDirectory = PathSyntax.directory(of: sourcePath)
        self.readFile = readFile
    }

    // MARK: - Keys

    static let rootKeys = [
        "version", "listeners", "api_keys", "admin_keys", "admin_open_on_loopback", "metrics_keys", "console", "upstream", "models", "balancing", "refresh",
        "state_dir", "limits", "log", "accounts", "shard", "reload", "responses",
    ]
    static let reloadKeys = ["settle"]
    static let responsesKeys = ["store", "retention", "max_file_size", "max_size"]
    static let listenerKeys = ["address", "open"]
    static let upstreamKeys = ["endpoint", "oidc_endpoint", "proxy", "connect_timeout", "read_timeout", "template"]
    static let modelsKeys = ["default", "unknown", "available", "aliases", "discover"]
    static let balancingKeys = [
        "strategy", "retries", "max_errors", "error_window", "cooldown", "max_cooldown", "affinity_ttl",
    ]
    static let refreshKeys = ["before_expiry", "jitter"]
    static let limitsKeys = ["max_body", "context_tokens", "body_timeout"]
    static let logKeys = ["level", "format"]
    static let secretAccountKeys = ["client_id", "client_secret", "refresh_token"]
    static let accountKeys = [
        "id", "label", "client_id", "client_id_file", "client_secret", "client_secret_file", "refresh_token",
        "refresh_token_file", "profile_arn", "enabled", "weight", "tier", "region", "endpoint", "proxy", "shard",
    ]
    static let shardKeys = ["index", "count"]

    // MARK: - Document

    func decode(_ root: Node?) -> ProxyConfig {
        var config = ProxyConfig(
            sourcePath: self.sourcePath,
            stateDirectory: PathSyntax.resolve("./state", against: self.baseDirectory)
        )
        guard let root else { return config }
        let rootField = Field(node: root, position: Position(root.mark), path: .root)
        if NodeReader.isNull(root) { return config }
        guard case .mapping = root else {
            self.reader.report(
                "the top level must be a mapping of keys such as listeners, upstream and accounts", rootField)
            return config
        }
        guard let map = self.reader.mapping(rootField, allowed: Self.rootKeys) else { return config }

        if let field = map["version"] {
            if let version = self.reader.int(field, minimum: 0) {
                if version == 1 {
                    config.version = version
                } else {
                    self.reader.report("unsupported version \(version); this q2api reads version 1", field)
                }
            }
        } else {
            self.reader.report(
                "missing required key 'version'; write version: 1 as the first line", at: rootField.position,
                path: ConfigPath.root.key("version"))
        }
        if let field = map["responses"] {
            config.responses = self.decodeResponses(field)
        }
        if let field = map["reload"] {
            config.reload = self.decodeReload(field)
        }

        var listenerFields: [Field?] = [nil]
        if let field = map["listeners"] {
            let decoded = self.decodeListeners(field)
            config.listeners = decoded.map(\.listener)
            listenerFields = decoded.map(\.field)
        }

        var apiKeysComplete = true
        if let field = map["api_keys"] {
            let (keys, complete) = self.decodeKeys(field)
            config.apiKeys = keys
            apiKeysComplete = complete
        }
        if let field = map["admin_keys"] {
            config.adminKeys = self.decodeKeys(field).keys
        }
        if let field = map["metrics_keys"] {
            config.metricsKeys = self.decodeKeys(field).keys
        }
        if let field = map["admin_open_on_loopback"], let value = self.reader.bool(field) {
            config.adminOpenOnLoopback = value
        }
        if let field = map["console"], let value = self.reader.bool(field) {
            config.console = value
        }
        if let field = map["upstream"] {
            (config.upstream, config.templateSource) = self.decodeUpstream(field)
        }
        if let field = map["models"] {
            config.models = self.decodeModels(field)
        }
        if let field = map["balancing"] {
            config.balancing = self.decodeBalancing(field)
        }
        if let field = map["refresh"] {
            config.refresh = self.decodeRefresh(field)
        }
        if let field = map["shard"] {
            config.shard = self.decodeShard(field)
        }
        if let field = map["state_dir"], let path = self.reader.nonEmptyString(field) {
            config.stateDirectory = PathSyntax.resolve(path, against: self.baseDirectory)
        }
        if let field = map["limits"] {
            config.limits = self.decodeLimits(field)
        }
        if let field = map["log"] {
            config.log = self.decodeLog(field)
        }
        if let field = map["accounts"] {
            config.accounts = self.decodeAccounts(field)
            for (index, account) in config.accounts.enumerated() {
                if let shard = account.shard, shard >= config.shard.count {
                    self.reader.report(
                        "account \(account.id) names shard \(shard), but shard.count is \(config.shard.count): no instance would serve it",
                        at: field.position, path: ConfigPath.root.key("accounts").index(index).key("shard"))
                }
            }
        }

        // An empty whitelist means no authentication: only where nobody else can reach the server, or where the
        // operator said so. Skipped when api_keys itself had errors, to avoid a misleading second message.
        if config.apiKeys.isEmpty, apiKeysComplete {
            for (listener, field) in zip(config.listeners, listenerFields)
            where !listener.address.isLoopback && !listener.open {
                let message =
                    "listener \(listener.address) is not a loopback address and api_keys is empty, so anyone who can reach it could use the accounts; add api_keys, or set open: true on this listener"
                if let field {
                    self.reader.report(message, field)
                } else {
                    self.reader.report(message, at: rootField.position, path: ConfigPath.root.key("listeners"))
                }
            }
        }
        return config
    }

    // MARK: - Listeners and keys

    private func decodeListeners(_ field: Field) -> [(listener: ProxyConfig.Listener, field: Field)] {
        guard let items = self.reader.sequence(field) else { return [(ProxyConfig.Listener(), field)] }
        if items.isEmpty {
            self.reader.report("must list at least one listener, for example - address: 127.0.0.1:8080", field)
        }
        var result: [(listener: ProxyConfig.Listener, field: Field)] = []
        var seen: [ListenAddress: Int] = [:]
        for item in items {
            guard let map = self.reader.mapping(item, allowed: Self.listenerKeys) else { continue }
            var listener = ProxyConfig.Listener()
            guard let addressField = map["address"] else {
                self.reader.report("missing required key 'address' (for example address: 127.0.0.1:8080)", item)
                continue
            }
            guard let text = self.reader.string(addressField) else { continue }
            switch AddressSyntax.parseListenAddress(text.trimmingWhitespace()) {
            case .failure(let error):
                self.reader.report(error.message, addressField)
                continue
            case .success(let address):
                listener.address = address
            }
            if let openField = map["open"], let open = self.reader.bool(openField) {
                listener.open = open
            }
            if let first = seen[listener.address], listener.address.port != 0 {
                self.reader.report(
                    "duplicate listener address \(listener.address) (also listeners[\(first)])", addressField)
                continue
            }
            seen[listener.address] = result.count
            result.append((listener, item))
        }
        return result
    }

    /// `api_keys` / `admin_keys`: a list of non-empty strings. `complete` is false when any entry had an error.
    private func decodeKeys(_ field: Field) -> (keys: [Secret], complete: Bool) {
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

    // MARK: - Upstream

    private func decodeUpstream(_ field: Field) -> (ProxyConfig.Upstream, TemplateSource?) {
        var upstream = ProxyConfig.Upstream()
        guard let map = self.reader.mapping(field, allowed: Self.upstreamKeys) else { return (upstream, nil) }
        if let field = map["endpoint"],
            let url = self.url(field, what: "an http(s) URL such as https://q.us-east-1.amazonaws.com/")
        {
            upstream.endpoint = url
        }
        if let field = map["oidc_endpoint"],
            let url = self.url(field, what: "an http(s) URL such as https://oidc.us-east-1.amazonaws.com")
        {
            upstream.oidcEndpoint = url
        }
        if let field = map["proxy"] {
            upstream.proxy = self.optionalURL(field, what: "\"\" or a proxy URL such as http://proxy.local:3128")
        }
        if let field = map["connect_timeout"], let value = self.reader.duration(field, minimum: .milliseconds(1)) {
            upstream.connectTimeout = value
        }
        if let field = map["read_timeout"], let value = self.reader.duration(field, minimum: .milliseconds(1)) {
            upstream.readTimeout = value
        }
        var template: TemplateSource?
        if let field = map["template"], let path = self.reader.string(field), !path.isEmpty {
            let resolved = PathSyntax.resolve(path, against: self.baseDirectory)
            upstream.templatePath = resolved
            if let text = self.read(resolved, field) {
                template = TemplateSource(
                    path: resolved,
                    text: text,
                    configFile: self.sourcePath,
                    line: field.position.line,
                    column: field.position.column
                )
            }
        }
        return (upstream, template)
    }

    private func url(_ field: Field, what: String) -> URL? {
        guard let text = self.reader.nonEmptyString(field) else { return nil }
        switch AddressSyntax.parseHTTPURL(text.trimmingWhitespace(), what: what) {
        case .success(let url): return url
        case .failure(let error):
            self.reader.report(error.message, field)
            return nil
        }
    }

    /// A URL, or `nil` for `""`.
    private func optionalURL(_ field: Field, what: String) -> URL? {
        guard let text = self.reader.string(field), !text.trimmingWhitespace().isEmpty else { return nil }
        return self.url(field, what: what)
    }

    /// A file's text through the injected reader. Errors name the path, never the contents.
    private func read(_ path: String, _ field: Field) -> String? {
        do {
            return try self.readFile(path)
        } catch let error as ConfigFileReadError {
            self.reader.report("cannot read file '\(path)': \(error.reason)", field)
        } catch {
            self.reader.report("cannot read file '\(path)'", field)
        }
        return nil
    }

    // MARK: - Models

    private func decodeModels(_ field: Field) -> ProxyConfig.Models {
        var models = ProxyConfig.Models()
        guard let map = self.reader.mapping(field, allowed: Self.modelsKeys) else { return models }

        var availableField: Field?
        if let field = map["available"], let items = self.reader.sequence(field) {
            availableField = field
            var available: [String] = []
            for item in items {
                guard let name = self.reader.nonEmptyString(item)?.trimmingWhitespace() else { continue }
                if available.contains(where: { $0.lowercased() == name.lowercased() }) {
                    self.reader.report("duplicate model '\(name)'", item)
                    continue
                }
                available.append(name)
            }
            if items.isEmpty {
                self.reader.report("must list at least one upstream model id", field)
            }
            if !available.isEmpty {
                models.available = available
            }
        }
        let listed = models.available.joined(separator: ", ")
        func canonical(_ name: String) -> String? {
            models.available.first { $0.lowercased() == name.lowercased() }
        }

        if let field = map["default"] {
            if let name = self.reader.nonEmptyString(field)?.trimmingWhitespace() {
                if let known = canonical(name) {
                    models.defaultModel = known
                } else {
                    self.reader.report(
                        "'\(name)' is not in models.available (\(listed))\(self.suggestion(name, models.available))",
                        field
                    )
                }
            }
        } else if let known = canonical(models.defaultModel) {
            models.defaultModel = known
        } else {
            // No `default`, and a custom `available` without the built-in default: point at `available`.
            self.reader.report(
                "the default model '\(models.defaultModel)' is not in this list; add it, or set models.default to one of \(listed)",
                availableField ?? field
            )
        }

        if let field = map["unknown"],
            let policy = self.reader.choice(field, ProxyConfig.Models.UnknownModelPolicy.self)
        {
            models.unknown = policy
        }
        if let field = map["discover"], let discover = self.reader.bool(field) {
            models.discover = discover
        }

        if let field = map["aliases"], let map = self.reader.mapping(field, allowed: nil) {
            var aliases: [String: String] = [:]
            var seen: [String: String] = [:]
            for (name, entry) in map.entries {
                if name.isEmpty {
                    self.reader.report("alias names must not be empty", entry)
                    continue
                }
                if let first = seen[name.lowercased()] {
                    self.reader.report("alias '\(name)' duplicates '\(first)' (names ignore case)", entry)
                    continue
                }
                seen[name.lowercased()] = name
                guard let target = self.reader.nonEmptyString(entry)?.trimmingWhitespace() else { continue }
                guard let known = canonical(target) else {
                    self.reader.report(
                        "target '\(target)' is not in models.available (\(listed))\(self.suggestion(target, models.available))",
                        entry
                    )
                    continue
                }
                aliases[name] = known
            }
            models.aliases = aliases
        } else {
            models.aliases = ProxyConfig.Models.builtinAliases.filter { alias in
                models.available.contains(alias.value)
            }
        }
        return models
    }

    private func suggestion(_ word: String, _ candidates: [String]) -> String {
        Suggestion.closest(to: word, in: candidates).map { "; did you mean '\($0)'?" } ?? ""
    }

    // MARK: - Small sections

    private func decodeBalancing(_ field: Field) -> ProxyConfig.Balancing {
        var balancing = ProxyConfig.Balancing()
        guard let map = self.reader.mapping(field, allowed: Self.balancingKeys) else { return balancing }
        if let field = map["strategy"], let value = self.reader.choice(field, ProxyConfig.Balancing.Strategy.self) {
            balancing.strategy = value
        }
        if let field = map["retries"], let value = self.reader.int(field, minimum: 0) {
            balancing.retries = value
        }
        if let field = map["max_errors"], let value = self.reader.int(field, minimum: 1) {
            balancing.maxErrors = value
        }
        if let field = map["error_window"], let value = self.reader.duration(field, minimum: .milliseconds(1)) {
            balancing.errorWindow = value
        }
        if let field = map["cooldown"], let value = self.reader.duration(field) {
            balancing.cooldown = value
        }
        if let field = map["max_cooldown"], let value = self.reader.duration(field, minimum: .milliseconds(1)) {
            balancing.maxCooldown = value
        }
        if let field = map["affinity_ttl"], let value = self.reader.duration(field) {
            balancing.affinityTTL = value
        }
        return balancing
    }

    private func decodeResponses(_ field: Field) -> ProxyConfig.Responses {
        var responses = ProxyConfig.Responses()
        guard let map = self.reader.mapping(field, allowed: Self.responsesKeys) else { return responses }
        if let field = map["store"], let value = self.reader.bool(field) {
            responses.store = value
        }
        if let field = map["retention"], let value = self.reader.duration(field, minimum: .seconds(1)) {
            responses.retention = value
        }
        if let field = map["max_file_size"], let value = self.reader.size(field, minimum: 4096) {
            responses.maxFileSize = value
        }
        if let field = map["max_size"], let value = self.reader.size(field, minimum: 4096) {
            responses.maxSize = value
        }
        return responses
    }

    private func decodeReload(_ field: Field) -> ProxyConfig.Reload {
        var reload = ProxyConfig.Reload()
        guard let map = self.reader.mapping(field, allowed: Self.reloadKeys) else { return reload }
        if let field = map["settle"], let value = self.reader.duration(field) {
            reload.settle = value
        }
        return reload
    }

    private func decodeShard(_ field: Field) -> ProxyConfig.Shard {
        var shard = ProxyConfig.Shard()
        guard let map = self.reader.mapping(field, allowed: Self.shardKeys) else { return shard }
        if let field = map["count"], let value = self.reader.int(field, minimum: 1) {
            shard.count = value
        }
        if let field = map["index"], let value = self.reader.int(field, minimum: 0) {
            if value >= shard.count {
                self.reader.report("must be less than shard.count (\(shard.count)); shards are numbered from 0", field)
            } else {
                shard.index = value
            }
        }
        return shard
    }

    private func decodeRefresh(_ field: Field) -> ProxyConfig.Refresh {
        var refresh = ProxyConfig.Refresh()
        guard let map = self.reader.mapping(field, allowed: Self.refreshKeys) else { return refresh }
        if let field = map["before_expiry"], let value = self.reader.duration(field) {
            refresh.beforeExpiry = value
        }
        if let field = map["jitter"], let value = self.reader.duration(field) {
            refresh.jitter = value
        }
        return refresh
    }

    private func decodeLimits(_ field: Field) -> ProxyConfig.Limits {
        var limits = ProxyConfig.Limits()
        guard let map = self.reader.mapping(field, allowed: Self.limitsKeys) else { return limits }
        if let field = map["max_body"], let value = self.reader.size(field, minimum: 1) {
            limits.maxBody = value
        }
        if let field = map["context_tokens"], let value = self.reader.int(field, minimum: 1) {
            limits.contextTokens = value
        }
        if let field = map["body_timeout"], let value = self.reader.duration(field, minimum: .seconds(1)) {
            limits.bodyTimeout = value
        }
        return limits
    }

    private func decodeLog(_ field: Field) -> ProxyConfig.Log {
        var log = ProxyConfig.Log()
        guard let map = self.reader.mapping(field, allowed: Self.logKeys) else { return log }
        if let field = map["level"], let value = self.reader.choice(field, ProxyConfig.Log.Level.self) {
            log.level = value
        }
        if let field = map["format"], let value = self.reader.choice(field, ProxyConfig.Log.Format.self) {
            log.format = value
        }
        return log
    }

    // MARK: - Accounts

    private func decodeAccounts(_ field: Field) -> [ProxyConfig.Account] {
        guard let items = self.reader.sequence(field) else { return [] }
        var accounts: [ProxyConfig.Account] = []
        var seen: [String: Position] = [:]
        for item in items {
            guard let map = self.reader.mapping(item, allowed: Self.accountKeys) else { continue }
            var id: String?
            if let field = map["id"] {
                if let value = self.reader.nonEmptyString(field) {
                    if !ProxyConfig.Account.isValidID(value) {
                        self.reader.report(
                            "'\(value.prefix(80))' is not a valid account id; use \(ProxyConfig.Account.idRule)",
                            field
                        )
                    } else if let first = seen[value] {
                        self.reader.report("duplicate account id '\(value)' (first used at line \(first.line))", field)
                    } else {
                        seen[value] = field.position
                        id = value
                    }
                }
            } else {
                self.reader.report("missing required key 'id'", item)
            }

            let secrets = Self.secretAccountKeys.map { self.accountSecret($0, in: map, item: item) }

            var label: String?
            if let field = map["label"], let value = self.reader.string(field) {
                label = value.isEmpty ? nil : value
            }
            var profileARN: String?
            if let field = map["profile_arn"], let value = self.reader.string(field) {
                let trimmed = value.trimmingWhitespace()
                if trimmed.isEmpty {
                    profileARN = nil
                } else if trimmed.hasPrefix("arn:") {
                    profileARN = trimmed
                } else {
                    self.reader.report("must be \"\" or an ARN starting with 'arn:'", field)
                }
            }
            var enabled = true
            if let field = map["enabled"], let value = self.reader.bool(field) {
                enabled = value
            }
            var weight = 1
            if let field = map["weight"], let value = self.reader.int(field, minimum: 1) {
                weight = value
            }
            var tier = 0
            if let field = map["tier"], let value = self.reader.int(field, minimum: 0) {
                tier = value
            }
            var accountShard: Int?
            if let field = map["shard"], let value = self.reader.int(field, minimum: 0) {
                accountShard = value
            }
            var region: String?
            if let field = map["region"], let value = self.reader.string(field) {
                let trimmed = value.trimmingWhitespace()
                if trimmed.isEmpty {
                    region = nil
                } else if ProxyConfig.Account.isValidRegion(trimmed) {
                    region = trimmed
                } else {
                    self.reader.report("must be \"\" or an AWS region such as us-east-1 or eu-central-1", field)
                }
            }
            var endpoint: URL?
            if let field = map["endpoint"] {
                endpoint = self.optionalURL(
                    field, what: "\"\" or an http(s) URL such as https://q.us-east-1.amazonaws.com/")
            }
            var proxy: URL?
            if let field = map["proxy"] {
                proxy = self.optionalURL(field, what: "\"\" or a proxy URL such as http://proxy.local:3128")
            }

            guard let id, let clientID = secrets[0], let clientSecret = secrets[1], let refreshToken = secrets[2] else {
                continue
            }
            accounts.append(
                ProxyConfig.Account(
                    id: id,
                    label: label,
                    clientID: clientID,
                    clientSecret: clientSecret,
                    refreshToken: refreshToken,
                    profileARN: profileARN,
                    enabled: enabled,
                    weight: weight,
                    tier: tier,
                    region: region,
                    endpoint: endpoint,
                    proxy: proxy,
                    shard: accountShard
                )
            )
        }
        return accounts
    }

    /// `key: value` or `key_file: PATH` (exactly one), as a secret. Messages never include the value.
    private func accountSecret(_ key: String, in map: MappingFields, item: Field) -> Secret? {
        let inline = map[key]
        let file = map["\(key)_file"]
        switch (inline, file) {
        case (.some, .some(let fileField)):
            self.reader.report("give either \(key) or \(key)_file, not both", fileField)
            return nil
        case (nil, nil):
            self.reader.report("missing required key '\(key)' (or '\(key)_file' to read it from a file)", item)
            return nil
        case (.some(let field), nil):
            guard let value = self.reader.string(field) else { return nil }
            let trimmed = value.trimmingWhitespace()
            guard !trimmed.isEmpty else {
                self.reader.report("must not be empty", field)
                return nil
            }
            return Secret(trimmed)
        case (nil, .some(let field)):
            guard let path = self.reader.nonEmptyString(field) else { return nil }
            let resolved = PathSyntax.resolve(path.trimmingWhitespace(), against: self.baseDirectory)
            guard let contents = self.read(resolved, field) else { return nil }
            let trimmed = contents.trimmingWhitespace()
            guard !trimmed.isEmpty else {
                self.reader.report("file '\(resolved)' is empty", field)
                return nil
            }
            return Secret(trimmed)
        }
    }
}
