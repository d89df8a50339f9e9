import Foundation
import ProxyConfig

/// A login or a token refresh that proves new credentials work, ready to be saved as a run-time account.
package struct NewAccountTokens: Sendable {
    /// The refresh token the credentials were given with (the `account` record's seed).
    package var seedRefreshToken: String
    /// The refresh token to use next: the seed, or the one the validating refresh rotated to.
    package var currentRefreshToken: String
    package var accessToken: String
    package var expiresAt: Date
    /// The profile ARN the validating refresh returned (Kiro refreshes do).
    package var profileARN: String?

    package init(seedRefreshToken: String, currentRefreshToken: String, accessToken: String, expiresAt: Date, profileARN: String? = nil) {
        self.seedRefreshToken = seedRefreshToken
        self.currentRefreshToken = currentRefreshToken
        self.accessToken = accessToken
        self.expiresAt = expiresAt
        self.profileARN = profileARN
    }
}

extension AccountStateStore {
    /// Saves an account created at run time (device login, admin API, import): its `account` record and a `token`
    /// record with the tokens its first exchange returned, in one write and one fsync before this returns.
    ///
    /// Writing the token too matters when the validating refresh rotated the seed: the seed alone would no longer
    /// work. Writing both at once matters to a server watching the directory: it never reads the account without its
    /// token (it would refresh with the spent seed and lose the account), and a full disk fails the one write
    /// instead of leaving the account record without its token (short of a write cut off mid-line).
    ///
    /// A `kind: kiro` account passes empty `clientID` and `clientSecret` (they are not written).
    package func saveNewAccount(
        id: String, label: String, kind: AccountKind = .oidc, clientID: String, clientSecret: String, profileARN: String?,
        enabled: Bool = true, weight: Int = 1, region: String? = nil, tokens: NewAccountTokens
    ) throws(StateStoreError) {
        let timestamp = now()
        let account = AccountRecord(
            timestamp: timestamp, label: label, clientID: Secret(clientID), clientSecret: Secret(clientSecret),
            refreshToken: Secret(tokens.seedRefreshToken), profileARN: profileARN, enabled: enabled, weight: weight, region: region,
            endpoint: nil, kind: kind)
        let token = TokenRecord(
            timestamp: timestamp, refreshToken: Secret(tokens.currentRefreshToken), accessToken: Secret(tokens.accessToken),
            expiresAt: tokens.expiresAt, source: RefreshTokenFingerprint.of(tokens.seedRefreshToken), kind: kind == .oidc ? nil : kind,
            profileARN: tokens.profileARN)
        try append(records: [.account(account), .token(token)], accountID: id)
    }

    /// A free account id derived from a label: lower-case letters, digits, `-`, `_` and `.`, at most 48
    /// characters, with `-2`, `-3`, … appended when taken.
    package static func accountID(fromLabel label: String, taken: Set<String>) -> String {
        var base = String(
            label.lowercased().map { character -> Character in
                character.isASCII && (character.isLetter || character.isNumber || "-_.".contains(character)) ? character : "-"
            }
        ).split(separator: "-", omittingEmptySubsequences: true).joined(separator: "-")
        base = String(base.drop { !($0.isLetter || $0.isNumber) }.prefix(48))  // ids start with a letter or a digit
        if !ProxyConfig.Account.isValidID(base) { base = "account" }
        if !taken.contains(base) { return base }
        var suffix = 2
        while taken.contains("\(base)-\(suffix)") { suffix += 1 }
        return "\(base)-\(suffix)"
    }
}
