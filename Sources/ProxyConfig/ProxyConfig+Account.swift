import Foundation

extension ProxyConfig {
    /// One entry of `accounts`: an Amazon Q (Builder ID / IAM Identity Center) login, or a Kiro one (`kind: kiro`).
    ///
    /// Each of `client_id`, `client_secret` and `refresh_token` may be given inline or as `<key>_file: PATH`, in
    /// which case the value is the file's text with surrounding whitespace removed. A `kind: kiro` account has no
    /// client registration: its ``clientID`` and ``clientSecret`` are empty.
    package struct Account: Sendable, Equatable, Identifiable {
        /// `id`: unique, 1-64 characters from `A-Z a-z 0-9 _ . -`, starting with a letter or a digit. Names the
        /// account's state file (so never a hidden file, `.` or `..`).
        package var id: String
        /// `label`: a human name; defaults to ``id``.
        package var label: String
        /// `kind`: how the account refreshes its token; `oidc` by default.
        package var kind: AccountKind
        /// `client_id` / `client_id_file` (`kind: oidc`; empty for `kind: kiro`).
        package var clientID: Secret
        /// `client_secret` / `client_secret_file` (`kind: oidc`; empty for `kind: kiro`).
        package var clientSecret: Secret
        /// `refresh_token` / `refresh_token_file`: the seed token; the state directory may hold a newer one.
        package var refreshToken: Secret
        /// `profile_arn`: for organisation accounts; `nil` when `""`.
        package var profileARN: String?
        /// `enabled`.
        package var enabled: Bool
        /// `weight`: >= 1; used by the `weighted` strategy.
        package var weight: Int
        /// `tier`: >= 0; lower tiers are filled first, the next tier takes over only when no account of a
        /// lower one can serve.
        package var tier: Int
        /// `region`: the AWS region of the account's Amazon Q profile; sets its endpoint to
        /// `https://q.<region>.amazonaws.com/` unless `endpoint` is given. For `kind: kiro` it is also the region
        /// of Kiro's auth service (`https://prod.<region>.auth.desktop.kiro.dev`, us-east-1 when `nil`) unless
        /// `upstream.kiro_auth_endpoint` is set. `nil` when `""`.
        package var region: String?
        /// `endpoint`: overrides `upstream.endpoint` (and `region`) for this account; `nil` when `""`.
        package var endpoint: URL?
        /// `proxy`: overrides `upstream.proxy` for this account; `nil` when `""`.
        package var proxy: URL?
        /// `shard`: the shard that owns this account, instead of the hash of its id.
        package var shard: Int?

        package init(
            id: String,
            label: String? = nil,
            kind: AccountKind = .oidc,
            clientID: Secret,
            clientSecret: Secret,
            refreshToken: Secret,
            profileARN: String? = nil,
            enabled: Bool = true,
            weight: Int = 1,
            tier: Int = 0,
            region: String? = nil,
            endpoint: URL? = nil,
            proxy: URL? = nil,
            shard: Int? = nil
        ) {
            self.id = id
            self.label = label ?? id
            self.kind = kind
            self.clientID = clientID
            self.clientSecret = clientSecret
            self.refreshToken = refreshToken
            self.profileARN = profileARN
            self.enabled = enabled
            self.weight = weight
            self.tier = tier
            self.region = region
            self.endpoint = endpoint
            self.proxy = proxy
            self.shard = shard
        }

        /// The endpoint this account's requests go to, when it differs from `upstream.endpoint`.
        package var effectiveEndpoint: URL? {
            if let endpoint { return endpoint }
            return region.flatMap { URL(string: "https://q.\($0).amazonaws.com/") }
        }

        /// Whether `region` looks like an AWS region name (`us-east-1`, `eu-central-1`, `us-gov-west-1`).
        package static func isValidRegion(_ region: String) -> Bool {
            let parts = region.split(separator: "-", omittingEmptySubsequences: false)
            guard (3...4).contains(parts.count), let last = parts.last, Int(last) != nil else { return false }
            return parts.dropLast().allSatisfy { part in !part.isEmpty && part.allSatisfy { $0.isLetter && $0.isLowercase } }
        }

        /// What ``isValidID(_:)`` asks for, in words, for error messages.
        package static let idRule = "1 to 64 characters from A-Z a-z 0-9 _ . -, starting with a letter or a digit"

        /// Whether `id` is a valid account id: 1-64 characters from `A-Z a-z 0-9 _ . -`, the first a letter or a
        /// digit (ids name files in the state directory: `.hidden` would be a hidden file, `..` a parent).
        package static func isValidID(_ id: String) -> Bool {
            guard (1...64).contains(id.utf8.count), let first = id.utf8.first else { return false }
            switch first {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"): break
            default: return false
            }
            return id.utf8.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                    UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "-"):
                    return true
                default:
                    return false
                }
            }
        }
    }
}
