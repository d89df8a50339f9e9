import Accounts
import Foundation
import Logging
import ProxyConfig
import Synchronization

/// Connects the account pool to the state directory: rotated tokens are made durable before use, health
/// changes worth remembering are appended as `status` records, request counters are batched into `stats`
/// records, and the roster (YAML + run-time accounts) is rebuilt from the files on start-up and reload.
package final class AccountStatePersistence: Sendable {
    private struct Memory: Sendable {
        /// The seed fingerprint of each account, for `status` records.
        var seeds: [String: String] = [:]
        /// The state last written per account, so an account bouncing between cooling and active
        /// does not write a line each time.
        var lastPersistedState: [String: String] = [:]
        /// Where each account is defined.
        var sources: [String: AccountListing.Source] = [:]
    }

    package let store: AccountStateStore
    private let memory = Mutex(Memory())
    private let logger: Logger

    package init(store: AccountStateStore, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    /// Reads the state directory and builds the roster for `config`, remembering seeds and the last persisted
    /// state of every account.
    package func roster(for config: ProxyConfig) -> AccountRoster {
        let snapshots = store.loadAll()
        let roster = AccountRoster(accounts: config.accounts, snapshots: snapshots, stateDirectory: store.directory, shard: config.shard)
        memory.withLock { memory in
            memory.seeds = Dictionary(roster.members.map { ($0.credentials.id, $0.credentials.refreshTokenSource) }, uniquingKeysWith: { a, _ in a })
            memory.sources = roster.sources
            for member in roster.members {
                let id = member.credentials.id
                if let record = snapshots[id]?.status { memory.lastPersistedState[id] = Self.key(state: record.state, by: record.by) }
            }
        }
        for warning in roster.warnings { logger.warning("state directory: \(warning)") }
        return roster
    }

    /// Where an account is defined (`yaml` or `state`), or `nil` for an unknown account.
    package func source(of id: String) -> AccountListing.Source? {
        memory.withLock { $0.sources[id] }
    }

    /// Gives the pool a roster: the accounts, then the statuses and access tokens the files remember for the
    /// accounts `restoring` selects (all at start-up; the new ones on a reload), and the saved access token of
    /// every other account that holds none, unless this roster changed its credentials.
    ///
    /// Restoring tokens for known accounts too repairs a reload that read an account's file between two writes
    /// (or a torn last line): the account came in with its seed and no token, and the next reload brings the
    /// token (and, through ``AccountPool/update(accounts:configuration:)``, the rotated refresh token).
    package static func apply(
        _ roster: AccountRoster, to pool: AccountPool, configuration: PoolConfiguration?, restoring: (String) -> Bool
    ) {
        let discarded = pool.update(accounts: roster.credentials, configuration: configuration)
        for member in roster.members {
            let id = member.credentials.id
            if restoring(id), let status = member.status { pool.restore(id: id, status: status) }
            if restoring(id) || !discarded.contains(id), let token = member.accessToken, let expiresAt = member.accessTokenExpiresAt {
                pool.restoreToken(
                    id: id, accessToken: token, expiresAt: PoolInstant(sinceEpoch: .seconds(expiresAt.timeIntervalSince1970)), onlyIfNone: true)
            }
        }
    }

    // MARK: - Pool hooks

    /// The pool's ``TokenRefreshedHook``: appends and fsyncs the token record before the token is used.
    package func tokenRefreshed(_ account: AccountCredentials, _ token: RefreshedToken) throws {
        let expiresAt = Date().addingTimeInterval(Double(token.expiresIn.components.seconds))
        try store.appendToken(
            accountID: account.id, refreshToken: Secret(token.refreshToken ?? account.refreshToken), accessToken: Secret(token.accessToken),
            expiresAt: expiresAt, source: account.refreshTokenSource, kind: account.kind,
            profileARN: token.profileARN ?? account.refreshedProfileARN)
    }

    /// The pool's ``AccountStatusHook``: appends a `status` record when the account enters a state worth
    /// remembering across a restart (not for every cooling).
    package func statusChanged(_ id: String, _ status: AccountStatus) {
        guard let form = AccountRoster.persistedForm(of: status) else { return }
        let key = Self.key(state: form.state, by: form.by)
        let seed: String? = memory.withLock { memory in
            if (memory.lastPersistedState[id] ?? "active") == key { return nil }
            memory.lastPersistedState[id] = key
            return memory.seeds[id] ?? ""
        }
        guard let seed else { return }
        do {
            try store.appendStatus(accountID: id, state: form.state, reason: form.reason, by: form.by, source: form.by == .auto ? seed : nil)
        } catch {
            logger.warning("could not record the account's status", metadata: ["account": "\(id)", "error": "\(error)"])
        }
    }

    /// An operator's decision, recorded as such (the admin API).
    package func recordOperatorStatus(_ id: String, enabled: Bool, reason: String?) throws(StateStoreError) {
        try store.appendStatus(accountID: id, state: enabled ? "enabled" : "disabled", reason: reason, by: .operator)
        memory.withLock { $0.lastPersistedState[id] = Self.key(state: enabled ? "enabled" : "disabled", by: .operator) }
    }

    /// What "the same status" means for deduplication: the state, and who decided a `disabled`.
    private static func key(state: String, by: StatusActor) -> String {
        if state == "enabled" || state == "active" { return "active" }
        return by == .operator ? state + "/operator" : state
    }

    // MARK: - Counters

    /// Counts one finished request; written in batches by ``runFlushLoop(every:)``.
    package func recordRequest(account: String, succeeded: Bool, inputTokens: Int = 0, outputTokens: Int = 0) {
        store.recordStats(
            accountID: account, successes: succeeded ? 1 : 0, failures: succeeded ? 0 : 1, inputTokens: inputTokens, outputTokens: outputTokens)
    }

    /// Flushes the counters every `interval` until cancelled.
    package func runFlushLoop(every interval: Duration) async {
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: interval)
            } catch {
                return
            }
            flush(durable: false)
        }
    }

    package func flush(durable: Bool) {
        do {
            try store.flush(durable: durable)
        } catch {
            logger.warning("could not write account counters; kept for the next flush", metadata: ["error": "\(error)"])
        }
    }
}
