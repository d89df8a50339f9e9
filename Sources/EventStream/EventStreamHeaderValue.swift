/// The value of an event-stream header, one case per wire type (AMAZON_Q.md §4.2).
///
/// The Amazon Q service only sends `.string` headers, but the decoder must still understand every
/// type to find where the next header starts.
///
/// ```swift
/// let header = EventStreamHeader(name: ":message-type", value: .string("event"))
/// ```
package enum EventStreamHeaderValue: Sendable, Equatable, Hashable {
    /// Wire types 0 (true) and 1 (false).
    case bool(Bool)
    /// Wire type 2.
    case byte(Int8)
    /// Wire type 3.
    case short(Int16)
    /// Wire type 4.
    case integer(Int32)
    /// Wire type 5.
    case long(Int64)
    /// Wire type 6: up to 32,767 bytes when encoded.
    case byteArray([UInt8])
    /// Wire type 7: up to 32,767 UTF-8 bytes when encoded.
    case string(String)
    /// Wire type 8: milliseconds since the Unix epoch, signed, as botocore reads it.
    case timestamp(Int64)
    /// Wire type 9: exactly 16 bytes, the RFC 9562 binary form.
    case uuid([UInt8])
}

extension EventStreamHeaderValue {
    /// The wire type byte (AMAZON_Q.md §4.2).
    enum WireType: UInt8 {
        case boolTrue = 0
        case boolFalse = 1
        case byte = 2
        case short = 3
        case integer = 4
        case long = 5
        case byteArray = 6
        case string = 7
        case timestamp = 8
        case uuid = 9
    }

    /// The largest length a byte array or string value may declare, from the spec; the uint16 length field
    /// could hold more, but other implementations reject it.
    static let maximumVariableLength = 32_767

    /// The length of a UUID value.
    static let uuidLength = 16

    var wireType: WireType {
        switch self {
        case .bool(let value): value ? .boolTrue : .boolFalse
        case .byte: .byte
        case .short: .short
        case .integer: .integer
        case .long: .long
        case .byteArray: .byteArray
        case .string: .string
        case .timestamp: .timestamp
        case .uuid: .uuid
        }
    }
}
