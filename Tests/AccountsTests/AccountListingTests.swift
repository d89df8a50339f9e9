import Accounts
import Foundation
import ProxyConfig
import Testing

@Suite("Account listing")
struct AccountListingTests {
    static func account(_ id: String, token: String = "seed", enabled: Bool = true) -> ProxyConfig.Account {
        ProxyConfig.Account(
            id: id, label: id.uppercased(), clientID: Secret("cid"), clientSecret: Secret("csec"),
            refreshToken: Secret(token), enabled: enabled)
    }

    @Test("YAML and state accounts merged with state, reason, counters and token expiry")
    func merge() throws {
        let dir = try StateTestDirectory()
        defer { dir.remove() }
        let store = AccountStateStore(directory: dir.path)
        let expiry = Date(timeIntervalSince1970: 1_750_003_600.5)
        // main: a chain from its current YAML token, stats, an auto-disable then an operator's enable.
        try store.appendToken(
            accountID: "main", refreshToken: Secret("rt"), accessToken: Secret("at"), expiresAt: expiry,
            source: RefreshTokenFingerprint.of("seed"))
        try store.appendStatus(accountID: "main", state: "disabled", reason: "5 failures in 60s", by: .auto)
        try store.appendStatus(accountID: "main", state: "enabled", by: .operator)
        store.recordStats(accountID: "main", successes: 7, failures: 2)
        try store.flush()
        // replaced: the operator put a new token in the YAML: the old chain's expiry does not count.
        try store.appendToken(
            accountID: "replaced", refreshToken: Secret("rt"), accessToken: Secret("at"), expiresAt: expiry,
            source: RefreshTokenFingerprint.of("old-seed"))
        try store.appendStatus(accountID: "suspended", state: "suspended", reason: "upstream suspended", by: .auto)
        // run-time account, and an orphan file.
        try store.appendAccount(
            accountID: "device", label: "Device login", clientID: Secret("c"), clientSecret: Secret("s"),
            refreshToken: Secret("device-seed"))
        try store.appendToken(
            accountID: "device", refreshToken: Secret("rt"), accessToken: Secret("at"), expiresAt: expiry,
            source: RefreshTokenFingerprint.of("device-seed"))
        try store.appendStatus(accountID: "orphan", state: "disabled", by: .operator)
        try dir.append("garbage\n", to: "main.jsonl")

        let (listings, warnings) = AccountListing.merge(
            accounts: [
                Self.account("main"), Self.account("replaced", token: "new-seed"), Self.account("off", enabled: false),
                Self.account("suspended"),
            ],
            snapshots: AccountStateStore.load(directory: dir.path), stateDirectory: dir.path)

        #expect(
            listings == [
                AccountListing(
                    id: "main", label: "MAIN", source: .yaml, state: "active", counters: StatsCounters(successes: 7, failures: 2),
                    tokenExpiresAt: expiry),
                AccountListing(id: "replaced", label: "REPLACED", source: .yaml),
                AccountListing(id: "off", label: "OFF", source: .yaml, state: "disabled", reason: "disabled in the config"),
                AccountListing(id: "suspended", label: "SUSPENDED", source: .yaml, state: "suspended", reason: "upstream suspended"),
                AccountListing(id: "device", label: "Device login", source: .state, tokenExpiresAt: expiry),
            ])
        #expect(warnings.count == 2)
        #expect(warnings.contains { $0.hasSuffix("orphan.jsonl: no account \"orphan\" in the config and no account record; ignored") })
        #expect(warnings.contains { $0.contains("main.jsonl:5: torn last line ignored") })
        #expect(!"\(listings)".contains("csec"))
    }
}
