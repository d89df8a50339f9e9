import Foundation
import ProxyConfig

/// The accounts a server runs with: the YAML's, then the run-time accounts of the state directory, each with what
/// the state directory remembers of it (the refresh-token chain, the last access token, a persisted status).
///
/// Built at start-up and again on every reload (config or state directory), so the pool always receives the same
/// view the operator sees with `q2api accounts`.
package struct AccountRoster: Sendable {
    package struct Member: Sendable {
        package var credentials: AccountCredentials
        package var source: AccountListing.Source
        /// The access token of the current chain's last refresh, while it is still valid.
        package var accessToken: String?
        package var accessTokenExpiresAt: Date?
        /// A persisted status to restore (operator decisions, and the server's own for the same seed token).
        package var status: AccountStatus?
    }

    package var members: [Member]
    /// Orphan files and unreadable lines, as ``AccountListing/merge(accounts:snapshots:stateDirectory:)`` reports them.
    package var warnings: [String]

    package var credentials: [AccountCredentials] { members.map(\.credentials) }

    /// Where each account is defined, by id.
    package var sources: [String: AccountListing.Source] {
        Dictionary(members.map { ($0.credentials.id, $0.source) }, uniquingKeysWith: { first, _ in first })
    }

    /// - Parameters:
    ///   - accounts: `config.accounts`.
    ///   - snapshots: The state directory's files (``AccountStateStore/loadAll()``).
    ///   - stateDirectory: For warnings.
    ///   - now: Expired access tokens and past quota resets are not restored.
    ///   - shard: Which accounts this instance owns; the others (YAML and run-time) are left out.
    package init(
        accounts: [ProxyConfig.Account], snapshots: [String: AccountStateSnapshot], stateDirectory: String, now: Date = Date(),
        shard: ProxyConfig.Shard = ProxyConfig.Shard()
    ) {
        var members: [Member] = []
        var yamlIDs = Set<String>()
        for account in accounts where yamlIDs.insert(account.id).inserted {
            guard shard.owns(account.id, explicit: account.shard) else { continue }
            let snapshot = snapshots[account.id]
            let chain = effectiveRefreshToken(yamlToken: account.refreshToken, snapshot: snapshot)
            let credentials = AccountCredentials(
                id: account.id, label: account.label, kind: account.kind, clientID: account.clientID.value,
                clientSecret: account.clientSecret.value, refreshToken: chain.refreshToken.value, profileARN: account.profileARN,
                endpoint: account.effectiveEndpoint?.absoluteString, proxy: account.proxy?.absoluteString, enabled: account.enabled,
                weight: account.weight, tier: account.tier, refreshTokenSource: chain.source, region: account.region,
                refreshedProfileARN: chain.profileARN)
            members.append(Self.member(credentials, source: .yaml, chain: chain, snapshot: snapshot, now: now))
        }
        for id in snapshots.keys.sorted() where !yamlIDs.contains(id) {
            guard let snapshot = snapshots[id], let record = snapshot.account, shard.owns(id) else { continue }
            let chain = effectiveRefreshToken(yamlToken: record.refreshToken, snapshot: snapshot)
            let endpoint = record.endpoint ?? record.region.map { "https://q.\($0).amazonaws.com/" }
            let credentials = AccountCredentials(
                id: id, label: record.label.isEmpty ? id : record.label, kind: record.kind, clientID: record.clientID.value,
                clientSecret: record.clientSecret.value, refreshToken: chain.refreshToken.value, profileARN: record.profileARN,
                endpoint: endpoint, enabled: record.enabled, weight: max(1, record.weight), refreshTokenSource: chain.source,
                region: record.region, refreshedProfileARN: chain.profileARN)
            members.append(Self.member(credentials, source: .state, chain: chain, snapshot: snapshot, now: now))
        }
        self.members = members
        self.warnings = AccountListing.merge(accounts: accounts, snapshots: snapshots, stateDirectory: stateDirectory).warnings
    }

    private static func member(
        _ credentials: AccountCredentials, source: AccountListing.Source, chain: EffectiveRefreshToken,
        snapshot: AccountStateSnapshot?, now: Date
    ) -> Member {
        var member = Member(credentials: credentials, source: source)
        if chain.origin == .stateFile, let token = chain.accessToken, let expiresAt = chain.expiresAt, expiresAt > now {
            member.accessToken = token.value
            member.accessTokenExpiresAt = expiresAt
        }
        if let record = snapshot?.status {
            member.status = restoredStatus(record, seedSource: chain.source, now: now)
        }
        return member
    }

    /// The status a `status` record brings back after a restart, if any.
    ///
    /// An operator's `disabled` always returns. States the server entered by itself return only while the seed
    /// token is the one they were recorded for (new credentials deserve a fresh try), and a monthly quota only
    /// until its reset.
    package static func restoredStatus(_ record: StatusRecord, seedSource: String, now: Date) -> AccountStatus? {
        let since = PoolInstant(sinceEpoch: .seconds(record.timestamp.timeIntervalSince1970))
        if record.state == "disabled" && record.by == .operator {
            return AccountStatus(health: .disabled(.operator), reason: record.reason ?? "disabled by an operator", since: since)
        }
        guard record.by == .auto, record.source == seedSource else { return nil }
        let health: AccountHealth
        switch record.state {
        case "disabled": health = .disabled(.errors)
        case "suspended": health = .suspended
        case "refresh_failed": health = .refreshFailed
        case "quota_exhausted":
            let reset = since.startOfNextMonthUTC
            guard reset.secondsSince1970 > now.timeIntervalSince1970 else { return nil }
            health = .quotaExhausted(until: reset)
        default: return nil
        }
        return AccountStatus(health: health, reason: record.reason, since: since)
    }

    /// What a status change is written as, or `nil` when it is not worth a line (cooling comes and goes).
    ///
    /// - Returns: The record's `state`, `reason` and `by`; server-made states carry the seed fingerprint.
    package static func persistedForm(of status: AccountStatus) -> (state: String, reason: String?, by: StatusActor)? {
        switch status.health {
        case .active: ("active", nil, .auto)
        case .cooling: nil
        case .quotaExhausted, .suspended, .refreshFailed: (status.health.name, status.reason, .auto)
        case .disabled(.errors): ("disabled", status.reason, .auto)
        case .disabled(.operator): ("disabled", status.reason, .operator)
        case .disabled(.config): nil
        }
    }
}
