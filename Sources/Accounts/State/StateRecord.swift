import Foundation
import ProxyConfig

/// One line of an account's state file (`<state_dir>/<account-id>.jsonl`).
///
/// Every line is a JSON object with `"ts"` (ISO-8601 UTC with milliseconds) and `"type"`; the rest depends on the
/// type. Lines are only ever appended (and compacted by ``AccountStateStore``), so the latest record of each type
/// is the current value.
///
/// ```swift
/// let line = StateRecord.status(StatusRecord(timestamp: .now, state: "disabled", reason: "left the team", by: .operator))
/// print(String(decoding: line.jsonLine(), as: UTF8.self))
/// // {"ts":"2025-06-01T12:00:00.000Z","type":"status","state":"disabled","reason":"left the team","by":"operator"}
/// ```
package enum StateRecord: Sendable, Equatable {
    /// `{"type":"token","refresh_token","access_token","expires_at","source"}` (plus `kind` and `profile_arn` for a
    /// `kind: kiro` account): appended after each refresh.
    case token(TokenRecord)
    /// `{"type":"status","state","reason","by"}`: appended on enable, disable and auto-disable.
    case status(StatusRecord)
    /// `{"type":"stats","successes","failures","input_tokens","output_tokens"}`: cumulative counters, flushed in
    /// batches.
    case stats(StatsRecord)
    /// `{"type":"account","label","client_id","client_secret","refresh_token","profile_arn","enabled","weight"}`
    /// (plus optional `region` and `endpoint`, and `kind` when it is not `oidc`; a `kiro` account has no `client_id`
    /// or `client_secret`): an account created at run time, not present in the YAML.
    case account(AccountRecord)

    /// The record's `type` value.
    package var type: String {
        switch self {
        case .token: "token"
        case .status: "status"
        case .stats: "stats"
        case .account: "account"
        }
    }

    /// The record's `ts` value.
    package var timestamp: Date {
        switch self {
        case .token(let record): record.timestamp
        case .status(let record): record.timestamp
        case .stats(let record): record.timestamp
        case .account(let record): record.timestamp
        }
    }
}

/// A `token` record: the refresh chain's latest tokens.
///
/// The tokens are ``Secret``s, so printing a record never shows them.
package struct TokenRecord: Sendable, Equatable {
    package var timestamp: Date
    /// The refresh token to use for the next refresh (rotated by the service, or the previous one when it did not
    /// rotate).
    package var refreshToken: Secret
    /// The access token this refresh returned.
    package var accessToken: Secret
    /// When ``accessToken`` expires.
    package var expiresAt: Date
    /// ``RefreshTokenFingerprint`` of the seed refresh token (from the YAML or the `account` record) this chain
    /// started from. When the seed changes, the chain is stale and the seed wins.
    package var source: String
    /// The account's kind, written for `kiro` accounts only (so the file says how its tokens refresh).
    package var kind: AccountKind?
    /// The profile ARN this refresh returned (Kiro refreshes do); used when the config names none.
    package var profileARN: String?

    package init(
        timestamp: Date, refreshToken: Secret, accessToken: Secret, expiresAt: Date, source: String, kind: AccountKind? = nil,
        profileARN: String? = nil
    ) {
        self.timestamp = timestamp
        self.refreshToken = refreshToken
        self.accessToken = accessToken
        self.expiresAt = expiresAt
        self.source = source
        self.kind = kind
        self.profileARN = profileARN
    }
}

/// Who wrote a `status` record: `operator` (CLI, admin API) or `auto` (the pool, for example an auto-disable).
/// Other values read from a file are kept as they are.
package struct StatusActor: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    package var rawValue: String
    package init(rawValue: String) { self.rawValue = rawValue }

    /// A person, through the CLI or the admin API.
    package static let `operator` = StatusActor(rawValue: "operator")
    /// The server itself (auto-disable after repeated failures, a suspension, a refused refresh token).
    package static let auto = StatusActor(rawValue: "auto")

    package var description: String { rawValue }
}

/// A `status` record: an operator's or the server's decision about an account.
package struct StatusRecord: Sendable, Equatable {
    package var timestamp: Date
    /// `enabled`, `disabled`, or a health state name such as `suspended` or `refresh_failed`.
    package var state: String
    /// Why, in words; never a secret. `nil` is written as an absent member.
    package var reason: String?
    package var by: StatusActor
    /// For a state the server entered by itself (`suspended`, `refresh_failed`, ...): the seed refresh token's
    /// fingerprint at the time. Such a state is restored after a restart only while the seed is the same: new
    /// credentials in the YAML deserve a fresh try.
    package var source: String?

    package init(timestamp: Date, state: String, reason: String? = nil, by: StatusActor, source: String? = nil) {
        self.timestamp = timestamp
        self.state = state
        self.reason = reason
        self.by = by
        self.source = source
    }
}

/// Request counters for one account.
package struct StatsCounters: Sendable, Equatable {
    package var successes: Int
    package var failures: Int
    package var inputTokens: Int
    package var outputTokens: Int

    package init(successes: Int = 0, failures: Int = 0, inputTokens: Int = 0, outputTokens: Int = 0) {
        self.successes = successes
        self.failures = failures
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
    }

    package static let zero = StatsCounters()

    package var isZero: Bool { self == .zero }

    package static func + (lhs: StatsCounters, rhs: StatsCounters) -> StatsCounters {
        StatsCounters(
            successes: lhs.successes &+ rhs.successes,
            failures: lhs.failures &+ rhs.failures,
            inputTokens: lhs.inputTokens &+ rhs.inputTokens,
            outputTokens: lhs.outputTokens &+ rhs.outputTokens)
    }

    package static func += (lhs: inout StatsCounters, rhs: StatsCounters) { lhs = lhs + rhs }
}

/// A `stats` record: cumulative counters since the file was created.
package struct StatsRecord: Sendable, Equatable {
    package var timestamp: Date
    package var counters: StatsCounters

    package init(timestamp: Date, counters: StatsCounters) {
        self.timestamp = timestamp
        self.counters = counters
    }
}

/// An `account` record: the definition of an account created at run time (device login, admin API). Such a file
/// defines an account that is not in the YAML; when the YAML has an account with the same id, the YAML wins.
package struct AccountRecord: Sendable, Equatable {
    package var timestamp: Date
    package var label: String
    /// `oidc` (the default, left out of the line) or `kiro`.
    package var kind: AccountKind
    /// Empty for a `kiro` account.
    package var clientID: Secret
    package var clientSecret: Secret
    /// The seed refresh token; later `token` records carry the rotated ones.
    package var refreshToken: Secret
    package var profileARN: String?
    package var enabled: Bool
    package var weight: Int
    package var region: String?
    package var endpoint: String?

    package init(
        timestamp: Date, label: String, clientID: Secret, clientSecret: Secret, refreshToken: Secret,
        profileARN: String? = nil, enabled: Bool = true, weight: Int = 1, region: String? = nil, endpoint: String? = nil,
        kind: AccountKind = .oidc
    ) {
        self.timestamp = timestamp
        self.label = label
        self.kind = kind
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.refreshToken = refreshToken
        self.profileARN = profileARN
        self.enabled = enabled
        self.weight = weight
        self.region = region
        self.endpoint = endpoint
    }
}
