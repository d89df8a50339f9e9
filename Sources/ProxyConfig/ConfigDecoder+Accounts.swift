import Foundation

/// One `accounts` item while it is read; an ``ProxyConfig/Account`` once its id and secrets are valid.
struct AccountDraft {
    /// The ids of the items before this one, with where each was given. The duplicate check is part of reading
    /// `id`, so that it is reported before the item's other problems at the same place.
    var seenIDs: [String: Position]
    var id: String?
    var label: String?
    var kind = AccountKind.oidc
    var clientID: Secret?
    var clientSecret: Secret?
    var refreshToken: Secret?
    var profileARN: String?
    var enabled = true
    var weight = 1
    var tier = 0
    var region: String?
    var endpoint: URL?
    var proxy: URL?
    var shard: Int?

    init(seenIDs: [String: Position]) {
        self.seenIDs = seenIDs
    }

    /// The account, when every required key was given and valid.
    var account: ProxyConfig.Account? {
        guard let id, let refreshToken else { return nil }
        let clientID: Secret
        let clientSecret: Secret
        switch self.kind {
        case .oidc:
            guard let id = self.clientID, let secret = self.clientSecret else { return nil }
            (clientID, clientSecret) = (id, secret)
        case .kiro:
            // A Kiro refresh token needs no client registration (the check refuses one).
            (clientID, clientSecret) = (Secret(""), Secret(""))
        }
        return ProxyConfig.Account(
            id: id,
            label: self.label,
            kind: self.kind,
            clientID: clientID,
            clientSecret: clientSecret,
            refreshToken: refreshToken,
            profileARN: self.profileARN,
            enabled: self.enabled,
            weight: self.weight,
            tier: self.tier,
            region: self.region,
            endpoint: self.endpoint,
            proxy: self.proxy,
            shard: self.shard
        )
    }
}

extension ConfigDecoder {
    /// An item of `accounts`.
    static let accountKeys = KeyTable<AccountDraft>(
        [
            ConfigKey("id", .required()) { decoder, field, account in
                guard let value = decoder.reader.nonEmptyString(field) else { return }
                if !ProxyConfig.Account.isValidID(value) {
                    decoder.reader.report(
                        "'\(value.prefix(80))' is not a valid account id; use \(ProxyConfig.Account.idRule)", field)
                } else if let first = account.seenIDs[value] {
                    decoder.reader.report("duplicate account id '\(value)' (first used at line \(first.line))", field)
                } else {
                    account.seenIDs[value] = field.position
                    account.id = value
                }
            },
            ConfigKey("label") { decoder, field, account in
                if let value = decoder.reader.string(field) { account.label = value.isEmpty ? nil : value }
            },
            .choice("kind", \.kind),
            .secret("client_id", \.clientID, unless: "kind", is: AccountKind.kiro.rawValue),
            .secret("client_secret", \.clientSecret, unless: "kind", is: AccountKind.kiro.rawValue),
            .secret("refresh_token", \.refreshToken),
            ConfigKey("profile_arn") { decoder, field, account in
                guard let value = decoder.reader.string(field) else { return }
                let trimmed = value.trimmingWhitespace()
                if trimmed.isEmpty {
                    account.profileARN = nil
                } else if trimmed.hasPrefix("arn:") {
                    account.profileARN = trimmed
                } else {
                    decoder.reader.report("must be \"\" or an ARN starting with 'arn:'", field)
                }
            },
            .bool("enabled", \.enabled),
            .int("weight", \.weight, minimum: 1),
            .int("tier", \.tier, minimum: 0),
            ConfigKey("region") { decoder, field, account in
                guard let value = decoder.reader.string(field) else { return }
                let trimmed = value.trimmingWhitespace()
                if trimmed.isEmpty {
                    account.region = nil
                } else if ProxyConfig.Account.isValidRegion(trimmed) {
                    account.region = trimmed
                } else {
                    decoder.reader.report("must be \"\" or an AWS region such as us-east-1 or eu-central-1", field)
                }
            },
            ConfigKey("endpoint") { decoder, field, account in
                account.endpoint = decoder.optionalURL(
                    field, what: "\"\" or an http(s) URL such as https://q.us-east-1.amazonaws.com/")
            },
            ConfigKey("proxy") { decoder, field, account in
                account.proxy = decoder.optionalURL(field, what: "\"\" or a proxy URL such as http://proxy.local:3128")
            },
            ConfigKey("shard") { decoder, field, account in
                if let value = decoder.reader.int(field, minimum: 0) { account.shard = value }
            },
        ],
        check: { decoder, map, account in checkKindCredentials(decoder, map, &account) })

    /// `client_id` and `client_secret` belong to `kind: oidc` (required there, unless `kind: kiro`)
    /// and are refused for `kind: kiro`, whose refresh token is exchanged without a client registration.
    static func checkKindCredentials(_ decoder: ConfigDecoder, _ map: MappingFields, _ account: inout AccountDraft) {
        guard account.kind == .kiro else { return }
        for name in ["client_id", "client_secret"] {
            guard let given = map[name] ?? map["\(name)_file"] else { continue }
            decoder.reader.report(
                "kind: kiro accounts take no \(name) (a Kiro refresh token is refreshed without a client registration); remove it, or use kind: oidc for a Builder ID / IAM Identity Center client registration",
                given)
        }
        account.clientID = nil
        account.clientSecret = nil
    }

    /// `accounts`: the items whose id and secrets are valid, in file order.
    func decodeAccounts(_ field: Field, _ table: KeyTable<AccountDraft>) -> [ProxyConfig.Account] {
        guard let items = self.reader.sequence(field) else { return [] }
        var accounts: [ProxyConfig.Account] = []
        var seenIDs: [String: Position] = [:]
        for item in items {
            var draft = AccountDraft(seenIDs: seenIDs)
            guard table.read(item, with: self, into: &draft) else { continue }
            seenIDs = draft.seenIDs
            if let account = draft.account { accounts.append(account) }
        }
        return accounts
    }
}
