import Foundation
import ProxyConfig

/// One account as `q2api accounts` shows it: from the YAML and the state directory, without a running server.
///
/// Holds no secret.
package struct AccountListing: Sendable, Equatable {
    /// Where an account is defined.
    package enum Source: String, Sendable, Equatable {
        /// In `accounts:` of the YAML.
        case yaml
        /// By an `account` record in the state directory (created at run time).
        case state
    }

    package var id: String
    package var label: String
    package var source: Source
    /// `active` unless the config or a `status` record says otherwise (`disabled`, `suspended`, ...).
    package var state: String
    package var reason: String?
    package var counters: StatsCounters
    /// When the access token of the latest refresh expires; `nil` when the current refresh chain never ran.
    package var tokenExpiresAt: Date?

    package init(
        id: String, label: String, source: Source, state: String = "active", reason: String? = nil,
        counters: StatsCounters = .zero, tokenExpiresAt: Date? = nil
    ) {
        self.id = id
        self.label = label
        self.source = source
        self.state = state
        self.reason = reason
        self.counters = counters
        self.tokenExpiresAt = tokenExpiresAt
    }

    /// A timestamp in the state files' format (ISO-8601 UTC with milliseconds).
    package static func format(_ date: Date) -> String { StateTimestamp.format(date) }

    /// Merges the YAML's accounts with the state directory's snapshots.
    ///
    /// YAML accounts come first, in file order, then accounts defined by `account` records, by id. An account in
    /// both is the YAML's (its `account` record is ignored). A state file with no YAML account and no `account`
    /// record is left out with a warning. A `token` record counts only when its chain started from the current seed
    /// token (see ``effectiveRefreshToken(yamlToken:snapshot:)``).
    ///
    /// - Parameters:
    ///   - accounts: `config.accounts`.
    ///   - snapshots: ``AccountStateStore/load(directory:)`` of `config.stateDirectory`.
    ///   - stateDirectory: For warnings about files.
    /// - Returns: The accounts, and warnings (each snapshot's, then orphan files), none quoting a secret.
    package static func merge(
        accounts: [ProxyConfig.Account], snapshots: [String: AccountStateSnapshot], stateDirectory: String
    ) -> (accounts: [AccountListing], warnings: [String]) {
        var listings: [AccountListing] = []
        var warnings: [String] = []
        var yamlIDs = Set<String>()
        for account in accounts {
            yamlIDs.insert(account.id)
            let snapshot = snapshots[account.id]
            var listing = AccountListing(id: account.id, label: account.label, source: .yaml)
            apply(snapshot, seed: account.refreshToken, enabled: account.enabled, where: "the config", to: &listing)
            listings.append(listing)
        }
        for id in snapshots.keys.sorted() where !yamlIDs.contains(id) {
            guard let snapshot = snapshots[id], let record = snapshot.account else {
                warnings.append(
                    "\(stateDirectory)/\(id)\(StateFileParser.fileExtension): no account \"\(id)\" in the config and no account record; ignored")
                continue
            }
            var listing = AccountListing(id: id, label: record.label.isEmpty ? id : record.label, source: .state)
            apply(snapshot, seed: record.refreshToken, enabled: record.enabled, where: "its account record", to: &listing)
            listings.append(listing)
        }
        for id in snapshots.keys.sorted() {
            warnings.append(contentsOf: snapshots[id]?.warnings ?? [])
        }
        return (listings, warnings)
    }

    private static func apply(
        _ snapshot: AccountStateSnapshot?, seed: Secret, enabled: Bool, where place: String, to listing: inout AccountListing
    ) {
        if let status = snapshot?.status {
            listing.state = status.state == "enabled" ? "active" : status.state
            listing.reason = status.reason
        }
        if !enabled {
            listing.state = "disabled"
            listing.reason = "disabled in \(place)"
        }
        listing.counters = snapshot?.stats?.counters ?? .zero
        let chain = effectiveRefreshToken(yamlToken: seed, snapshot: snapshot)
        listing.tokenExpiresAt = chain.origin == .stateFile ? chain.expiresAt : nil
    }
}
