/// Random identifiers in the shapes the real services use, so that clients which log or compare them see
/// realistic values. Not cryptographic: they only need to be unique within a test run.
enum RandomIdentifier {
    private static let alphanumerics = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")

    /// `count` random ASCII letters and digits.
    static func alphanumeric(_ count: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return String((0..<count).map { _ in alphanumerics.randomElement(using: &generator)! })
    }

    /// A tool-use id like the service's: `tooluse_` and 22 letters and digits (AMAZON_Q.md §5.3).
    static func toolUseID() -> String {
        "tooluse_" + alphanumeric(22)
    }

    /// An opaque OIDC access token. Real ones start with `aoa`; clients must not parse them.
    static func accessToken() -> String {
        "aoa" + alphanumeric(60)
    }

    /// An opaque OIDC refresh token. Real ones start with `aor`.
    static func refreshToken() -> String {
        "aor" + alphanumeric(60)
    }

    /// A lower-case RFC 9562 version-4 UUID, built here to keep Foundation out of the module.
    static func uuid() -> String {
        var generator = SystemRandomNumberGenerator()
        var bytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        bytes[6] = (bytes[6] & 0x0F) | 0x40
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        let hex = bytes.map { byte in
            let digits = String(byte, radix: 16)
            return digits.count == 1 ? "0" + digits : digits
        }
        return [0..<4, 4..<6, 6..<8, 8..<10, 10..<16].map { hex[$0].joined() }.joined(separator: "-")
    }
}
