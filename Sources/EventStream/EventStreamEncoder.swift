import NIOCore

/// Encodes event-stream frames (AMAZON_Q.md §4), the inverse of ``EventStreamDecoder``.
///
/// Headers are written in the order given, so `encode(decode(frame))` reproduces `frame` byte for byte.
///
/// ```swift
/// let frame = try EventStreamEncoder.encode(
///     EventStreamMessage(
///         headers: [
///             EventStreamHeader(name: ":event-type", value: .string("assistantResponseEvent")),
///             EventStreamHeader(name: ":content-type", value: .string("application/json")),
///             EventStreamHeader(name: ":message-type", value: .string("event")),
///         ],
///         payload: ByteBuffer(string: #"{"content":"Hello"}"#)
///     )
/// )
/// ```
///
/// Only what the wire format cannot represent is rejected. The spec's 24 MiB payload and 128 KiB header
/// limits are left to the caller, so that a test server can still produce an oversized frame on purpose.
package enum EventStreamEncoder {
    /// Appends one frame to `buffer`.
    ///
    /// - Throws: ``EventStreamError/invalidHeader`` for a name that is empty or over 255 UTF-8 bytes,
    ///   a string or byte array over 32,767 bytes, or a UUID that is not 16 bytes;
    ///   ``EventStreamError/messageTooLarge`` if the frame would exceed `UInt32.max` bytes.
    ///   Nothing is written when it throws.
    package static func encode(_ message: EventStreamMessage, into buffer: inout ByteBuffer) throws {
        // Validate and measure everything first, so that a failure leaves `buffer` untouched.
        var headersLength = 0
        for header in message.headers {
            headersLength += try Self.encodedLength(of: header)
        }
        let totalLength = 16 + headersLength + message.payload.readableBytes
        guard totalLength <= Int(UInt32.max) else {
            throw EventStreamError.messageTooLarge(length: totalLength, maximum: Int(UInt32.max))
        }

        buffer.reserveCapacity(minimumWritableBytes: totalLength)
        let frameIndex = buffer.writerIndex
        buffer.writeInteger(UInt32(totalLength))
        buffer.writeInteger(UInt32(headersLength))
        let preludeCRC = Self.crc(of: buffer, from: frameIndex, to: frameIndex + 8, seed: 0)
        buffer.writeInteger(preludeCRC)
        for header in message.headers {
            Self.write(header, into: &buffer)
        }
        buffer.writeImmutableBuffer(message.payload)
        // Continuing from the prelude CRC covers bytes 0..<8 without hashing them again.
        let messageCRC = Self.crc(of: buffer, from: frameIndex + 8, to: buffer.writerIndex, seed: preludeCRC)
        buffer.writeInteger(messageCRC)
    }

    /// Encodes one frame into a new buffer.
    ///
    /// - Throws: The same errors as ``encode(_:into:)``.
    package static func encode(_ message: EventStreamMessage) throws -> ByteBuffer {
        var buffer = ByteBuffer()
        try Self.encode(message, into: &buffer)
        return buffer
    }

    // MARK: - Headers

    private static func encodedLength(of header: EventStreamHeader) throws -> Int {
        let nameLength = header.name.utf8.count
        guard (1...255).contains(nameLength) else {
            throw EventStreamError.invalidHeader("header name is \(nameLength) bytes; it must be 1 to 255")
        }
        let valueLength: Int
        switch header.value {
        case .bool: valueLength = 0
        case .byte: valueLength = 1
        case .short: valueLength = 2
        case .integer: valueLength = 4
        case .long, .timestamp: valueLength = 8
        case .byteArray(let bytes): valueLength = try 2 + Self.checkedVariableLength(bytes.count)
        case .string(let string): valueLength = try 2 + Self.checkedVariableLength(string.utf8.count)
        case .uuid(let bytes):
            guard bytes.count == EventStreamHeaderValue.uuidLength else {
                throw EventStreamError.invalidHeader("UUID header value is \(bytes.count) bytes; it must be 16")
            }
            valueLength = bytes.count
        }
        return 1 + nameLength + 1 + valueLength
    }

    private static func checkedVariableLength(_ length: Int) throws -> Int {
        guard length <= EventStreamHeaderValue.maximumVariableLength else {
            throw EventStreamError.invalidHeader("header value is \(length) bytes; the maximum is 32767")
        }
        return length
    }

    /// Writes a header already checked by `encodedLength(of:)`.
    private static func write(_ header: EventStreamHeader, into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(header.name.utf8.count))
        buffer.writeString(header.name)
        buffer.writeInteger(header.value.wireType.rawValue)
        switch header.value {
        case .bool: break
        case .byte(let value): buffer.writeInteger(value)
        case .short(let value): buffer.writeInteger(value)
        case .integer(let value): buffer.writeInteger(value)
        case .long(let value), .timestamp(let value): buffer.writeInteger(value)
        case .byteArray(let bytes):
            buffer.writeInteger(UInt16(bytes.count))
            buffer.writeBytes(bytes)
        case .string(let string):
            buffer.writeInteger(UInt16(string.utf8.count))
            buffer.writeString(string)
        case .uuid(let bytes): buffer.writeBytes(bytes)
        }
    }

    /// The CRC of the bytes at absolute indices `start..<end`, which lie at or after the reader index.
    private static func crc(of buffer: ByteBuffer, from start: Int, to end: Int, seed: UInt32) -> UInt32 {
        buffer.withUnsafeReadableBytes { readable in
            let offset = start - buffer.readerIndex
            return CRC32.update(seed, UnsafeRawBufferPointer(rebasing: readable[offset..<(offset + end - start)]))
        }
    }
}
