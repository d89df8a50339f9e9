/// Identifiers of the OIDC device flow (AMAZON_Q.md §7.2, §7.3). All are opaque to clients.
extension RandomIdentifier {
    /// RFC 8628 §6.1 suggests consonants only for user codes, so that no code spells a word and none
    /// can be misread (no vowels, no digits to confuse with letters).
    private static let userCodeLetters = Array("BCDFGHJKLMNPQRSTVWXZ")

    /// An OIDC client id.
    static func clientID() -> String {
        alphanumeric(22)
    }

    /// An OIDC client secret. Real ones are long signed blobs; only their opacity matters here.
    static func clientSecret() -> String {
        "sim" + alphanumeric(80)
    }

    /// A device code: the secret the polling client holds.
    static func deviceCode() -> String {
        alphanumeric(64)
    }

    /// A user code like `BCDF-GHJK`: what the person types or checks in the browser.
    static func userCode() -> String {
        var generator = SystemRandomNumberGenerator()
        let letters = (0..<8).map { _ in userCodeLetters.randomElement(using: &generator)! }
        return String(letters[0..<4]) + "-" + String(letters[4..<8])
    }
}
