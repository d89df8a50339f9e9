/// An error from decoding or encoding an AWS event-stream frame.
///
/// The kinds are static members rather than enum cases so that new kinds can be added without breaking
/// callers' `switch` statements. Equality compares the kind only, so a test or a caller can match
/// against the static member while the thrown value still carries details such as the CRCs:
///
/// ```swift
/// do {
///     _ = try decoder.decode(buffer: &buffer)
/// } catch let error as EventStreamError where error == .messageChecksumMismatch {
///     // The stream is corrupt; the spec says to end it.
/// }
/// ```
///
/// After any decoding error the stream must not be trusted further: the AWS spec says to terminate it.
package struct EventStreamError: Error, Equatable, CustomStringConvertible {
    private enum Code: Equatable {
        case preludeChecksumMismatch
        case messageChecksumMismatch
        case messageTooLarge
        case invalidLength
        case invalidHeader
        case truncated
    }

    private let code: Code
    /// Extra context for `description`. It holds only lengths, CRCs, offsets and fixed reasons, never bytes
    /// taken from the input (names, values, payload), so that it is safe to log.
    private let detail: String?

    private init(_ code: Code, _ detail: String? = nil) {
        self.code = code
        self.detail = detail
    }

    /// The CRC of the first 8 bytes of a frame did not match bytes 8..<12. Nothing in the frame,
    /// not even its length, can be trusted.
    package static let preludeChecksumMismatch = Self(.preludeChecksumMismatch)
    /// The CRC of the whole frame did not match its last 4 bytes.
    package static let messageChecksumMismatch = Self(.messageChecksumMismatch)
    /// The frame is longer than the decoder's maximum, or too long to encode.
    package static let messageTooLarge = Self(.messageTooLarge)
    /// The prelude's lengths are inconsistent: a frame shorter than 16 bytes, or headers longer than the frame.
    package static let invalidLength = Self(.invalidLength)
    /// The headers section is malformed, or a header cannot be encoded.
    package static let invalidHeader = Self(.invalidHeader)
    /// The input ended part-way through a frame.
    package static let truncated = Self(.truncated)

    static func preludeChecksumMismatch(expected: UInt32, actual: UInt32) -> Self {
        Self(.preludeChecksumMismatch, "expected \(hex(expected)), computed \(hex(actual))")
    }

    static func messageChecksumMismatch(expected: UInt32, actual: UInt32) -> Self {
        Self(.messageChecksumMismatch, "expected \(hex(expected)), computed \(hex(actual))")
    }

    static func messageTooLarge(length: Int, maximum: Int) -> Self {
        Self(.messageTooLarge, "\(length) bytes, maximum \(maximum)")
    }

    static func invalidLength(_ detail: String) -> Self {
        Self(.invalidLength, detail)
    }

    static func invalidHeader(_ detail: String) -> Self {
        Self(.invalidHeader, detail)
    }

    static func truncated(leftoverBytes: Int) -> Self {
        Self(.truncated, "\(leftoverBytes) bytes of an incomplete frame at end of input")
    }

    package static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.code == rhs.code
    }

    package var description: String {
        let summary =
            switch self.code {
            case .preludeChecksumMismatch: "event-stream prelude checksum mismatch"
            case .messageChecksumMismatch: "event-stream message checksum mismatch"
            case .messageTooLarge: "event-stream message too large"
            case .invalidLength: "event-stream frame has invalid lengths"
            case .invalidHeader: "event-stream frame has an invalid header"
            case .truncated: "event-stream truncated"
            }
        guard let detail = self.detail else { return summary }
        return "\(summary): \(detail)"
    }

    /// One of a fixed set of short labels, for metric dimensions where an unbounded string would not do.
    package var shortDescription: String {
        switch self.code {
        case .preludeChecksumMismatch: "prelude_crc"
        case .messageChecksumMismatch: "message_crc"
        case .messageTooLarge: "too_large"
        case .invalidLength: "invalid_length"
        case .invalidHeader: "invalid_header"
        case .truncated: "truncated"
        }
    }
}

private func hex(_ value: UInt32) -> String {
    let digits = String(value, radix: 16)
    return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
}
