import Crypto
import Foundation
import ProxyConfig

/// What one account's state file says: the latest record of each type, plus the problems found while reading it.
///
/// Built by ``AccountStateStore/load(directory:)`` (or ``StateFileParser``). Every property is optional: a file
/// may hold only stats, or only a status.
package struct AccountStateSnapshot: Sendable, Equatable {
    /// The account id (the file name without `.jsonl`).
    package var accountID: String
    /// The latest `token` record.
    package var token: TokenRecord?
    /// The latest `status` record.
    package var status: StatusRecord?
    /// The latest `stats` record.
    package var stats: StatsRecord?
    /// The latest `account` record: present when the account was created at run time.
    package var account: AccountRecord?
    /// Problems found while reading, each naming the file and line number (never the line's content).
    package var warnings: [String]
    /// How many lines the file holds (valid or not), for compaction.
    package var lineCount: Int

    package init(
        accountID: String, token: TokenRecord? = nil, status: StatusRecord? = nil, stats: StatsRecord? = nil,
        account: AccountRecord? = nil, warnings: [String] = [], lineCount: Int = 0
    ) {
        self.accountID = accountID
        self.token = token
        self.status = status
        self.stats = stats
        self.account = account
        self.warnings = warnings
        self.lineCount = lineCount
    }
}

// MARK: - The refresh chain

/// Fingerprints of seed refresh tokens, for the `source` member of `token` records.
///
/// A `token` record remembers which seed token (the YAML's `refresh_token`, or an `account` record's) its chain of
/// rotations started from. When the operator puts a new token in the YAML, its fingerprint no longer matches and the
/// chain in the state file is ignored: the YAML wins.
///
/// ```swift
/// RefreshTokenFingerprint.of("aorAAAAA...")   // "sha256:3f1c0d9e8a7b6c5d"
/// ```
package enum RefreshTokenFingerprint {
    /// `sha256:` and the first 16 hex digits (64 bits) of the token's SHA-256: enough to tell tokens apart, too
    /// short to be useful to anyone reading the file.
    package static func of(_ refreshToken: String) -> String {
        let digest = SHA256.hash(data: Array(refreshToken.utf8))
        return "sha256:" + digest.prefix(8).map { byte in (byte < 16 ? "0" : "") + String(byte, radix: 16) }.joined()
    }

    /// The fingerprint of a configured token.
    package static func of(_ refreshToken: Secret) -> String { of(refreshToken.value) }
}

/// The refresh token an account should use, and where it came from.
package struct EffectiveRefreshToken: Sendable, Equatable {
    /// Where ``refreshToken`` was found.
    package enum Origin: Sendable, Equatable {
        /// The seed (the YAML, or the `account` record): nothing newer applies.
        case seed
        /// The latest `token` record, whose chain started from the current seed.
        case stateFile
    }

    /// The token to use for the next refresh.
    package var refreshToken: Secret
    /// The access token from the state file, when it came from there (it may still be valid: check ``expiresAt``).
    package var accessToken: Secret?
    /// When ``accessToken`` expires.
    package var expiresAt: Date?
    /// The profile ARN the chain's last refresh returned (Kiro accounts), when it came from the state file.
    package var profileARN: String? = nil
    /// The seed's fingerprint: pass it as `source` to ``AccountStateStore/appendToken(accountID:refreshToken:accessToken:expiresAt:source:)``
    /// for every refresh of this chain.
    package var source: String
    package var origin: Origin
}

/// Picks the refresh token for an account from its seed (the YAML's `refresh_token`, or the `account` record's for a
/// run-time account) and its state file.
///
/// The state file's latest `token` wins only when its `source` is the seed's fingerprint, that is when the chain of
/// rotations started from the token the operator configured. A different fingerprint means the operator replaced the
/// token in the YAML since: the YAML wins and the old chain is ignored.
///
/// ```swift
/// let token = effectiveRefreshToken(yamlToken: account.refreshToken, snapshot: snapshots[account.id])
/// // refresh with token.refreshToken; then appendToken(..., source: token.source)
/// ```
///
/// - Parameters:
///   - yamlToken: The seed token: the YAML's, or the `account` record's refresh token.
///   - snapshot: The account's state file, if it has one.
/// - Returns: The token to refresh with, the stored access token if any, and the fingerprint to write as `source`.
package func effectiveRefreshToken(yamlToken: Secret, snapshot: AccountStateSnapshot?) -> EffectiveRefreshToken {
    let source = RefreshTokenFingerprint.of(yamlToken)
    if let token = snapshot?.token, token.source == source {
        return EffectiveRefreshToken(
            refreshToken: token.refreshToken, accessToken: token.accessToken, expiresAt: token.expiresAt, profileARN: token.profileARN,
            source: source, origin: .stateFile)
    }
    return EffectiveRefreshToken(refreshToken: yamlToken, accessToken: nil, expiresAt: nil, source: source, origin: .seed)
}
