import Accounts
import Foundation
import Logging
import ProxyConfig

/// Validates imported credentials by a refresh and saves each as a run-time account, exactly as a device login
/// does (an `account` record and a `token` record, written together, in the state directory a running server
/// watches).
///
/// Nothing is written for a candidate until its refresh succeeded; a candidate whose refresh token (or OIDC
/// client) is already an account is reported as such and neither refreshed nor written again.
///
/// ```swift
/// let store = AccountStateStore(directory: "./state")   // a running server passes its own store
/// let importer = CredentialImporter(store: store, existing: .init(stateDirectory: "./state", config: config),
///                                   refresher: refresher, oidcRegion: "us-east-1", logger: logger)
/// let plan = importer.plan(candidates)
/// let outcomes = await importer.run(plan)
/// ```
package struct CredentialImporter: Sendable {
    /// What would happen to one candidate.
    package struct Step: Sendable {
        package enum Action: Sendable, Equatable {
            /// Refresh, then save as this new account id.
            case add(accountID: String)
            /// Already an account (matched by refresh-token fingerprint or OIDC client id): nothing to do.
            case alreadyPresent(accountID: String)
        }

        package var candidate: ImportCandidate
        package var action: Action
    }

    /// What happened to one candidate.
    package enum Outcome: Sendable, Equatable {
        case imported(accountID: String)
        case alreadyPresent(accountID: String)
        case failed(ImportError)
    }

    /// Where the accounts are saved. A running server passes its own store, so that its state directory watcher
    /// knows these writes as its own instead of reloading for them.
    package let store: AccountStateStore
    package let existing: ExistingAccounts
    package let refresher: TokenRefresher
    /// The region of the OIDC service OIDC sign-ins are refreshed at (`upstream.oidc_endpoint`), when it is an
    /// AWS one: a refused refresh of a sign-in made in another region says so.
    package let oidcRegion: String?
    package let logger: Logger

    package var stateDirectory: String { store.directory }

    package init(
        store: AccountStateStore, existing: ExistingAccounts, refresher: @escaping TokenRefresher, oidcRegion: String? = nil, logger: Logger
    ) {
        self.store = store
        self.existing = existing
        self.refresher = refresher
        self.oidcRegion = oidcRegion
        self.logger = logger
    }

    /// The region of an AWS OIDC endpoint (`https://oidc.eu-west-1.amazonaws.com` → `eu-west-1`), nil for another host.
    package static func region(ofOIDCEndpoint url: URL) -> String? {
        guard let host = url.host?.lowercased(), host.hasPrefix("oidc."), host.hasSuffix(".amazonaws.com") else { return nil }
        let region = host.dropFirst("oidc.".count).dropLast(".amazonaws.com".count)
        return region.isEmpty || region.contains(".") ? nil : String(region)
    }

    /// Decides, without any network call or write, what each candidate becomes. `label` names the accounts
    /// (default: each candidate's source).
    package func plan(_ candidates: [ImportCandidate], label: String? = nil) -> [Step] {
        var taken = existing.ids
        var seen = existing
        var steps: [Step] = []
        for candidate in candidates {
            if let id = seen.match(candidate) {
                steps.append(Step(candidate: candidate, action: .alreadyPresent(accountID: id)))
                continue
            }
            let id = AccountStateStore.accountID(fromLabel: label ?? candidate.source, taken: taken)
            taken.insert(id)
            seen.add(candidate, as: id)
            steps.append(Step(candidate: candidate, action: .add(accountID: id)))
        }
        return steps
    }

    /// Carries the plan out: refreshes each new candidate and saves it when the refresh succeeds.
    package func run(_ steps: [Step], label: String? = nil) async -> [Outcome] {
        var outcomes: [Outcome] = []
        for step in steps {
            switch step.action {
            case .alreadyPresent(let id):
                outcomes.append(.alreadyPresent(accountID: id))
            case .add(let id):
                do throws(ImportError) {
                    try await add(step.candidate, as: id, label: label ?? step.candidate.source)
                    outcomes.append(.imported(accountID: id))
                } catch {
                    outcomes.append(.failed(error))
                }
            }
        }
        return outcomes
    }

    /// Refreshes `candidate` and, when that works, saves it as account `id`: an OIDC sign-in as a `kind: oidc`
    /// account with its client registration, a Kiro social sign-in as a `kind: kiro` account.
    ///
    /// A Kiro account's profile ARN is the one its refresh returned (the file's when the reply names none), kept
    /// in the `token` record as every Kiro refresh keeps it, rather than pinned in the `account` record: the
    /// service's answer stays authoritative. An Identity Center account keeps its file's profile ARN; a Builder ID
    /// account none (the service refuses Builder ID requests that name one). The token's region is not saved as the
    /// account's `region`, which would also move its Amazon Q endpoint; the refresh goes to
    /// `upstream.oidc_endpoint`, or `upstream.kiro_auth_endpoint` (or us-east-1's) for Kiro.
    package func add(_ candidate: ImportCandidate, as id: String, label: String) async throws(ImportError) {
        let kind: AccountKind
        let clientID: String
        let clientSecret: String
        switch candidate.credential {
        case .oidc(let id, let secret):
            (kind, clientID, clientSecret) = (.oidc, id, secret)
        case .kiroSocial:
            (kind, clientID, clientSecret) = (.kiro, "", "")
        }
        let accountProfileARN = kind == .oidc && !candidate.isBuilderID ? candidate.profileARN : nil
        let credentials = AccountCredentials(
            id: id, label: label, kind: kind, clientID: clientID, clientSecret: clientSecret, refreshToken: candidate.refreshToken,
            profileARN: accountProfileARN)
        let token: RefreshedToken
        do {
            token = try await refresher(credentials)
        } catch {
            guard error.isPermanent else {
                throw ImportError(
                    .unreachable,
                    "the token service could not refresh the credentials from \(candidate.origin) (\(error.message)); nothing was written")
            }
            if kind == .oidc, let region = candidate.region, let oidcRegion, region != oidcRegion {
                throw ImportError(
                    .refused,
                    "the token service refused the credentials from \(candidate.origin) (\(error.message)); nothing was written. "
                        + "They were issued by the OIDC service of \(region), but this server refreshes OIDC accounts at "
                        + "upstream.oidc_endpoint in \(oidcRegion): an Identity Center sign-in refreshes only in its own region "
                        + "(upstream.oidc_endpoint: https://oidc.\(region).amazonaws.com)")
            }
            throw ImportError(
                .refused,
                "the token service refused the credentials from \(candidate.origin) (\(error.message)); nothing was written. "
                    + "Sign in again with the tool that wrote them, then import again")
        }
        let rotated = token.refreshToken.map { $0 != candidate.refreshToken } ?? false
        do {
            try store.saveNewAccount(
                id: id, label: label, kind: kind, clientID: clientID, clientSecret: clientSecret, profileARN: accountProfileARN,
                tokens: NewAccountTokens(
                    seedRefreshToken: candidate.refreshToken, currentRefreshToken: token.refreshToken ?? candidate.refreshToken,
                    accessToken: token.accessToken, expiresAt: Date().addingTimeInterval(Double(token.expiresIn.components.seconds)),
                    profileARN: kind == .kiro ? token.profileARN ?? candidate.profileARN : nil))
        } catch {
            // The two records go in one write, so the account is not half saved; but the refresh may have spent the
            // refresh token the original tool holds.
            throw ImportError(
                .stateDirectory,
                "the account could not be saved in \(stateDirectory): \(error)"
                    + (rotated
                        ? ". The validating refresh rotated the refresh token, so the sign-in of the tool that wrote "
                            + "\(candidate.origin) may be spent: if that tool asks you to sign in again, do so, then import again"
                        : ""))
        }
    }
}

/// The accounts that exist already, by what identifies their credentials: how a re-import is recognised.
package struct ExistingAccounts: Sendable {
    /// Every account id in use (YAML and state directory).
    package var ids: Set<String> = []
    /// Refresh-token fingerprints (seeds and the latest rotated tokens) → account id.
    package var fingerprints: [String: String] = [:]
    /// OIDC client ids → account id. A client registration belongs to one sign-in, so the same client with a
    /// rotated refresh token is still the same account.
    package var clientIDs: [String: String] = [:]

    package init() {}

    /// The accounts of `config` and of the state directory.
    package init(stateDirectory: String, config: ProxyConfig?) {
        for account in config?.accounts ?? [] {
            ids.insert(account.id)
            fingerprints[RefreshTokenFingerprint.of(account.refreshToken.value)] = account.id
            if !account.clientID.value.isEmpty { clientIDs[account.clientID.value] = account.id }
        }
        for (id, snapshot) in AccountStateStore.load(directory: stateDirectory) {
            ids.insert(id)
            if let record = snapshot.account {
                fingerprints[RefreshTokenFingerprint.of(record.refreshToken.value)] = id
                if !record.clientID.value.isEmpty { clientIDs[record.clientID.value] = id }
            }
            if let token = snapshot.token { fingerprints[RefreshTokenFingerprint.of(token.refreshToken.value)] = id }
        }
    }

    /// The account `candidate` already is, if any.
    package func match(_ candidate: ImportCandidate) -> String? {
        if let id = fingerprints[candidate.fingerprint] { return id }
        if let clientID = candidate.clientID, let id = clientIDs[clientID] { return id }
        return nil
    }

    mutating func add(_ candidate: ImportCandidate, as id: String) {
        ids.insert(id)
        fingerprints[candidate.fingerprint] = id
        if let clientID = candidate.clientID { clientIDs[clientID] = id }
    }
}
