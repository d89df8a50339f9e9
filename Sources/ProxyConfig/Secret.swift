/// A configuration value that must never be printed: an API key, an OIDC client secret, a refresh token.
///
/// `description`, `debugDescription`, string interpolation, `dump(_:)` and the default description of any struct
/// holding a `Secret` all show `<redacted>`. The real value is only reachable through ``value``.
///
/// ```swift
/// let key = Secret("sk-live-123")
/// print(key)            // <redacted>
/// key.value             // "sk-live-123"
/// ```
package struct Secret: Sendable, Hashable {
    /// The secret text itself. Never log it.
    package let value: String

    /// Wraps a secret value.
    package init(_ value: String) {
        self.value = value
    }

    /// Compares with a candidate (for example a client's API key) in time that does not depend on where the
    /// two strings first differ.
    ///
    /// - Parameter candidate: The value presented by a client.
    /// - Returns: Whether `candidate` equals ``value``.
    package func constantTimeEquals(_ candidate: String) -> Bool {
        let lhs = Array(self.value.utf8)
        let rhs = Array(candidate.utf8)
        var difference: UInt8 = lhs.count == rhs.count ? 0 : 1
        // Always walk the full length of the stored value, whatever the candidate's length.
        for index in lhs.indices {
            let other = index < rhs.count ? rhs[index] : 0
            difference |= lhs[index] ^ other
        }
        return difference == 0
    }
}

extension Secret: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// Always `<redacted>`.
    package var description: String { "<redacted>" }
    /// Always `<redacted>`.
    package var debugDescription: String { "<redacted>" }
    /// A mirror with no children, so `dump(_:)` and reflection-based printing do not reveal the value.
    package var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}
