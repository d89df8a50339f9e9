import Yams

/// One `api_keys` item written as a mapping while it is read; a ``ProxyConfig/APIKey`` once its name and key are
/// valid.
struct APIKeyDraft {
    var name: String?
    var nameField: Field?
    var key: Secret?
    var keyField: Field?
    var models: [String]?
    /// Each of `models` with where it was written, for the check against the `models` section.
    var modelFields: [(name: String, field: Field)] = []
    var limits = ProxyConfig.KeyLimits()
    var enabled = true

    var apiKey: ProxyConfig.APIKey? {
        guard let name, let key else { return nil }
        return ProxyConfig.APIKey(name: name, key: key, models: self.models, limits: self.limits, enabled: self.enabled)
    }
}

/// `api_keys` as read: the valid keys, whether every entry was valid, and the allowlist entries to check once the
/// `models` section is known.
struct DecodedAPIKeys {
    var keys: [ProxyConfig.APIKey] = []
    var complete = true
    var modelFields: [(name: String, field: Field)] = []
}

extension ConfigDecoder {
    /// An `api_keys` item written as a mapping.
    static let apiKeyKeys = KeyTable<APIKeyDraft>([
        ConfigKey("name", .required(hint: "; every key written as a mapping needs a name (logs and metrics show it)")) {
            decoder, field, draft in
            guard let value = decoder.reader.nonEmptyString(field) else { return }
            guard ProxyConfig.Account.isValidID(value) else {
                decoder.reader.report("'\(value.prefix(80))' is not a valid key name; use \(ProxyConfig.Account.idRule)", field)
                return
            }
            // Usage and metrics count the admin keys' requests as `admin`, those of a server without keys as
            // `anonymous`: a key of either name would be counted with them.
            guard !["admin", "anonymous"].contains(value) else {
                decoder.reader.report(
                    "'\(value)' is reserved (usage and metrics count \(value == "admin" ? "admin keys" : "requests without a key") under it); choose another name",
                    field)
                return
            }
            draft.name = value
            draft.nameField = field
        },
        ConfigKey(
            "key", .required(hint: " (or 'key_file' to read it from a file)"),
            readFromFile: { decoder, field, draft in
                draft.key = decoder.fileSecret(field)
                draft.keyField = field
            },
            read: { decoder, field, draft in
                draft.key = decoder.inlineSecret(field)
                draft.keyField = field
            }
        ),
        ConfigKey("models") { decoder, field, draft in
            guard let items = decoder.reader.sequence(field) else { return }
            guard !items.isEmpty else {
                decoder.reader.report("must name at least one model; leave models out to allow every model", field)
                return
            }
            var names: [String] = []
            for item in items {
                guard let name = decoder.reader.nonEmptyString(item)?.trimmingWhitespace() else { continue }
                names.append(name)
                draft.modelFields.append((name, item))
            }
            draft.models = names
        },
        .section("limits", \.limits, keyLimitsKeys),
        .bool("enabled", \.enabled),
    ])

    /// `api_keys[].limits`.
    static let keyLimitsKeys = KeyTable<ProxyConfig.KeyLimits>([
        .limit("requests_per_minute", \.requestsPerMinute),
        .limit("concurrent_streams", \.concurrentStreams),
        .limit("tokens_per_day", \.tokensPerDay),
    ])

    /// `api_keys`: plain strings or mappings. Names and key values must be unique across both forms.
    func decodeAPIKeys(_ field: Field) -> DecodedAPIKeys {
        var decoded = DecodedAPIKeys()
        guard let items = self.reader.sequence(field) else {
            decoded.complete = false
            return decoded
        }
        var names: [String: Position] = [:]
        var values: [String: Int] = [:]
        for (index, item) in items.enumerated() {
            let key: ProxyConfig.APIKey
            let nameField: Field
            let keyField: Field
            var modelFields: [(name: String, field: Field)] = []
            if case .mapping(_) = item.node {
                var draft = APIKeyDraft()
                Self.apiKeyKeys.read(item, with: self, into: &draft)
                guard let valid = draft.apiKey else {
                    decoded.complete = false
                    continue
                }
                key = valid
                nameField = draft.nameField ?? item
                keyField = draft.keyField ?? item
                modelFields = draft.modelFields
            } else {
                guard let value = self.reader.nonEmptyString(item) else {
                    decoded.complete = false
                    continue
                }
                key = ProxyConfig.APIKey(plain: Secret(value))
                nameField = item
                keyField = item
            }
            if let first = values[key.key.value] {
                // Never the value itself: the message names the entry it repeats.
                self.reader.report("duplicates the key of \(field.path)[\(first)]", keyField)
                decoded.complete = false
                continue
            }
            if let first = names[key.name] {
                self.reader.report("duplicate key name '\(key.name)' (first used at line \(first.line))", nameField)
                decoded.complete = false
                continue
            }
            values[key.key.value] = index
            names[key.name] = nameField.position
            decoded.keys.append(key)
            decoded.modelFields += modelFields
        }
        return decoded
    }

    /// Each `api_keys[].models` entry must be a model the `models` section serves (by name or alias, `-thinking`
    /// and dated names included). With discovery on, a name may be one the accounts will report, so it is not
    /// checked.
    func checkKeyModels(_ modelFields: [(name: String, field: Field)], _ models: ProxyConfig.Models) {
        guard !models.discover else { return }
        for (name, field) in modelFields {
            guard case .resolved = models.resolveModel(name) else {
                self.reader.report(
                    "model '\(name.prefix(80))' is not in models.available or models.aliases\(self.suggestion(name, models.available + models.aliases.keys.sorted()))",
                    field)
                continue
            }
        }
    }
}

extension ConfigKey {
    /// An optional limit: an integer >= 1, or absent for none.
    fileprivate static func limit(_ name: String, _ path: any WritableKeyPath<Value, Int?> & Sendable) -> ConfigKey {
        ConfigKey(name) { decoder, field, value in
            if let int = decoder.reader.int(field, minimum: 1) { value[keyPath: path] = int }
        }
    }
}
