import Accounts
import Foundation

/// One set of credentials found on the machine, ready to be validated by a refresh and saved as an account.
///
/// Its ``summary(now:)`` is safe to print: the refresh token appears only as its fingerprint, the client id masked,
/// the access token not at all.
package struct ImportCandidate: Sendable, Equatable {
    /// How the account refreshes its token.
    package enum Credential: Sendable, Equatable {
        /// An SSO OIDC client registration (Builder ID or IAM Identity Center): refreshed at the OIDC `/token`.
        case oidc(clientID: String, clientSecret: String)
        /// A Kiro sign-in with Google or GitHub ("social"): refreshed by Kiro's desktop auth service, with no
        /// client registration.
        case kiroSocial
    }

    /// The source's short name (`kiro-ide`, `q-cli`, `kiro-cli`, `sso-cache`, `file`), the default account label.
    package var source: String
    /// Where it was read: the path, and the database key for a CLI database.
    package var origin: String
    /// What the file is, for people: "Kiro IDE token cache", "AWS SSO cache", "CLI database".
    package var format: String
    package var credential: Credential
    package var refreshToken: String
    package var accessToken: String?
    package var expiresAt: Date?
    /// The region the token's sign-in service lives in (the OIDC region for Builder ID / IdC).
    package var region: String?
    /// The CodeWhisperer profile ARN (Kiro and Identity Center accounts).
    package var profileARN: String?
    /// The IAM Identity Center start URL (Builder ID's is `https://view.awsapps.com/start`).
    package var startURL: String?
    /// How the user signed in, as the file says (`social`, `IdC`, `Google`, `Github`, `BuilderId`, …).
    package var signIn: String?

    package init(
        source: String, origin: String, format: String, credential: Credential, refreshToken: String, accessToken: String? = nil,
        expiresAt: Date? = nil, region: String? = nil, profileARN: String? = nil, startURL: String? = nil, signIn: String? = nil
    ) {
        self.source = source
        self.origin = origin
        self.format = format
        self.credential = credential
        self.refreshToken = refreshToken
        self.accessToken = accessToken
        self.expiresAt = expiresAt
        self.region = region
        self.profileARN = profileARN
        self.startURL = startURL
        self.signIn = signIn
    }

    /// ``RefreshTokenFingerprint`` of the refresh token: how a re-import is recognised.
    package var fingerprint: String { RefreshTokenFingerprint.of(refreshToken) }

    /// The start URL of AWS Builder ID sign-ins (personal accounts, no Identity Center instance).
    package static let builderIDStartURL = "https://view.awsapps.com/start"

    /// Whether this is an AWS Builder ID sign-in: its start URL is Builder ID's, or the Kiro IDE names the
    /// provider `BuilderId`. Builder ID tokens carry no CodeWhisperer profile, and public reports say the service
    /// refuses (403) a Builder ID request that names one (README "Importing credentials").
    package var isBuilderID: Bool {
        guard case .oidc = credential else { return false }
        if let startURL, Self.trimmingSlash(startURL).lowercased() == Self.builderIDStartURL { return true }
        return signIn?.lowercased().contains("builderid") == true
    }

    private static func trimmingSlash(_ url: String) -> String {
        url.hasSuffix("/") ? String(url.dropLast()) : url
    }

    /// The client id of an OIDC credential.
    package var clientID: String? {
        if case .oidc(let clientID, _) = credential { return clientID }
        return nil
    }

    /// `oidc` or `kiro`: the account kind the credentials become.
    package var kind: String {
        switch credential {
        case .oidc: "oidc"
        case .kiroSocial: "kiro"
        }
    }

    /// One line per fact, secrets redacted.
    package func summary(now: Date = Date()) -> [String] {
        var lines = ["\(format) at \(origin)"]
        var facts = ["kind \(kind)"]
        if let signIn { facts.append("sign-in \(signIn)") }
        if let region { facts.append("region \(region)") }
        lines.append(facts.joined(separator: ", "))
        if let clientID { lines.append("client id \(Redaction.mask(clientID)), client secret set") }
        lines.append("refresh token \(fingerprint)")
        if let expiresAt {
            let seconds = Int(expiresAt.timeIntervalSince(now))
            lines.append(
                seconds > 0
                    ? "access token valid for \(Redaction.duration(seconds))"
                    : "access token expired \(Redaction.duration(-seconds)) ago (the import's refresh renews it)")
        }
        if let startURL { lines.append("start URL \(startURL)") }
        if let profileARN { lines.append("profile ARN \(profileARN)") }
        return lines
    }
}

/// Showing secrets without revealing them.
package enum Redaction {
    /// The first and last 4 characters of a value of 16 or more, else only its length.
    package static func mask(_ value: String) -> String {
        value.count >= 16 ? "\(value.prefix(4))…\(value.suffix(4))" : "(\(value.count) characters)"
    }

    /// `3h 5m`, `12m`, `40s`.
    static func duration(_ seconds: Int) -> String {
        if seconds >= 86_400 { return "\(seconds / 86_400)d \(seconds % 86_400 / 3600)h" }
        if seconds >= 3600 { return "\(seconds / 3600)h \(seconds % 3600 / 60)m" }
        if seconds >= 60 { return "\(seconds / 60)m" }
        return "\(seconds)s"
    }
}
