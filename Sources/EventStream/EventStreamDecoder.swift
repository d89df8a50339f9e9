import NIOCore

/// Decodes AWS event-stream frames (AMAZON_Q.md §4) from bytes that arrive in arbitrary pieces.
///
/// A frame is laid out as:
///
/// ```
/// 0        4          8            12                            total-4      total
/// | total  | headers  | prelude    | headers   | payload         | message    |
/// | length | length   | CRC (0..<8)|           |                 | CRC (0..<total-4)
/// ```
///
/// The decoder keeps no state between calls: every call looks at the start of the readable bytes again,
/// so a frame split over many reads costs one 8-byte prelude CRC per read and nothing else. Both CRCs are
/// checked before anything else in the frame is believed, because the spec requires it and because a
/// corrupt length must not make the decoder wait for, or allocate, gigabytes.
///
/// Use it with NIO's drivers, for example over an HTTP response body:
///
/// ```swift
/// for try await message in response.body.decode(using: EventStreamDecoder()) {
///     print(message.eventType ?? "-")
/// }
/// ```
///
/// After an error the readable bytes are left untouched, so calling again throws the same error; the
/// spec says to end the stream instead.
package struct EventStreamDecoder: NIOSingleStepByteToMessageDecoder {
    package typealias InboundOut = EventStreamMessage

    /// The spec's service-side limits (24 MiB payload, 128 KiB headers) plus the 16 framing bytes. Clients
    /// are not required to enforce them, but some limit is needed to bound memory per stream.
    package static let defaultMaximumMessageLength = 24 * 1024 * 1024 + 128 * 1024 + 16

    /// Frames whose prelude declares more bytes than this are rejected as soon as the prelude arrives.
    package let maximumMessageLength: Int

    /// - Parameter maximumMessageLength: The largest `total_length` accepted, in bytes.
    package init(maximumMessageLength: Int = defaultMaximumMessageLength) {
        self.maximumMessageLength = maximumMessageLength
    }

    /// Decodes the frame at the start of `buffer`'s readable bytes and consumes exactly its bytes.
    ///
    /// - Returns: The frame, or `nil` if more bytes are needed.
    /// - Throws: ``EventStreamError`` if the bytes seen so far cannot start a valid frame.
    package mutating func decode(buffer: inout ByteBuffer) throws -> EventStreamMessage? {
        let maximumMessageLength = self.maximumMessageLength
        guard
            let frame = try buffer.withUnsafeReadableBytes({
                try Self.parseFrame($0, maximumMessageLength: maximumMessageLength)
            })
        else {
            return nil
        }
        let payloadIndex = buffer.readerIndex + Self.preludeLength + frame.headersLength
        // parseFrame saw all `totalLength` bytes, so the slice always exists.
        guard let payload = buffer.getSlice(at: payloadIndex, length: frame.payloadLength) else {
            throw EventStreamError.truncated(leftoverBytes: buffer.readableBytes)
        }
        buffer.moveReaderIndex(forwardBy: frame.totalLength)
        return EventStreamMessage(headerStorage: frame.headers, payload: payload)
    }

    /// Decodes what remains once no more bytes will arrive.
    ///
    /// Whole frames are still returned one per call. Any bytes that do not form a whole frame are an
    /// error whether or not EOF was seen: with no more input coming, that frame is lost either way, and
    /// returning `nil` would let a cut-off stream pass as a complete one.
    ///
    /// - Throws: ``EventStreamError/truncated`` for a partial frame, or any error ``decode(buffer:)`` throws.
    package mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> EventStreamMessage? {
        if let message = try self.decode(buffer: &buffer) {
            return message
        }
        guard buffer.readableBytes == 0 else {
            throw EventStreamError.truncated(leftoverBytes: buffer.readableBytes)
        }
        return nil
    }

    // MARK: - Framing

    private static let preludeLength = 12
    private static let minimumMessageLength = 16

    private struct Frame {
        var totalLength: Int
        var headersLength: Int
        var headers: EventStreamMessage.HeaderStorage

        var payloadLength: Int { self.totalLength - self.headersLength - EventStreamDecoder.minimumMessageLength }
    }

    /// Checks and parses the frame at the start of `bytes`, or returns `nil` if it has not all arrived.
    ///
    /// Works on the raw bytes rather than through `ByteBuffer` accessors, which each pay for a bounds check and
    /// an exclusivity check; for small frames those costs were comparable to the CRC.
    private static func parseFrame(_ bytes: UnsafeRawBufferPointer, maximumMessageLength: Int) throws -> Frame? {
        guard bytes.count >= Self.preludeLength else { return nil }
        let totalLength = UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt32.self))
        let headersLength = UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
        let expectedPreludeCRC = UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt32.self))
        let preludeCRC = CRC32.update(0, UnsafeRawBufferPointer(rebasing: bytes[..<8]))
        // Checked before the lengths, so that a damaged length is reported as damage, not as a bad length.
        guard preludeCRC == expectedPreludeCRC else {
            throw EventStreamError.preludeChecksumMismatch(expected: expectedPreludeCRC, actual: preludeCRC)
        }

        guard totalLength >= Self.minimumMessageLength else {
            throw EventStreamError.invalidLength("total_length \(totalLength) is below the minimum of 16")
        }
        // Compared as UInt64 so that no value of either field can overflow, on any platform.
        guard UInt64(headersLength) <= UInt64(totalLength) - UInt64(Self.minimumMessageLength) else {
            throw EventStreamError.invalidLength(
                "headers_length \(headersLength) does not fit in total_length \(totalLength)"
            )
        }
        // Rejected now rather than after buffering: the peer may never send that many bytes, or may
        // send them only to exhaust memory.
        guard UInt64(totalLength) <= UInt64(max(maximumMessageLength, 0)) else {
            throw EventStreamError.messageTooLarge(length: Int(totalLength), maximum: maximumMessageLength)
        }

        let frameLength = Int(totalLength)
        guard bytes.count >= frameLength else { return nil }
        let crcOffset = frameLength - 4
        let expectedMessageCRC = UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: crcOffset, as: UInt32.self))
        // The prelude CRC is the CRC of bytes 0..<8, so continuing from it avoids hashing those again.
        let messageCRC = CRC32.update(preludeCRC, UnsafeRawBufferPointer(rebasing: bytes[8..<crcOffset]))
        guard messageCRC == expectedMessageCRC else {
            throw EventStreamError.messageChecksumMismatch(expected: expectedMessageCRC, actual: messageCRC)
        }

        let headerBytes = bytes[Self.preludeLength..<(Self.preludeLength + Int(headersLength))]
        return Frame(
            totalLength: frameLength,
            headersLength: Int(headersLength),
            headers: try Self.parseHeaders(UnsafeRawBufferPointer(rebasing: headerBytes))
        )
    }

    // MARK: - Headers

    /// Parses a complete headers section. It runs only after the message CRC matched, so malformed headers
    /// here mean a faulty encoder, not line noise.
    ///
    /// An Amazon Q frame's headers (all strings, names and values from a known set) come back in the compact
    /// interned form, without allocating; anything else, including every malformed section, goes through the
    /// general parser, which builds the array and reports errors.
    private static func parseHeaders(_ bytes: UnsafeRawBufferPointer) throws -> EventStreamMessage.HeaderStorage {
        if let interned = InternedHeaders.parse(bytes) {
            return .interned(interned)
        }
        return .list(try Self.parseHeaderList(bytes))
    }

    /// Parses a complete headers section of any content into headers in wire order.
    private static func parseHeaderList(_ bytes: UnsafeRawBufferPointer) throws -> [EventStreamHeader] {
        var reader = HeaderReader(bytes: bytes)
        var headers: [EventStreamHeader] = []
        // Frames that end up here still mostly carry three headers; reserving avoids growing the array twice.
        headers.reserveCapacity(bytes.isEmpty ? 0 : 3)
        while !reader.isAtEnd {
            let name = try reader.readName()
            let value = try reader.readValue()
            headers.append(EventStreamHeader(name: name, value: value))
        }
        return headers
    }
}

@available(*, unavailable)
extension EventStreamDecoder: Sendable {}

/// A bounds-checked cursor over a headers section. Every read checks the remaining length first, so a
/// length field that points past the section throws instead of reading out of bounds.
private struct HeaderReader {
    let bytes: UnsafeRawBufferPointer
    var offset = 0

    var isAtEnd: Bool { self.offset >= self.bytes.count }

    mutating func readName() throws -> String {
        let start = self.offset
        let length = Int(try self.readInteger(as: UInt8.self))
        guard length > 0 else { throw self.error("empty header name", at: start) }
        guard let name = validatedString(try self.readBytes(length, at: start)) else {
            throw self.error("header name is not valid UTF-8", at: start)
        }
        return name
    }

    mutating func readValue() throws -> EventStreamHeaderValue {
        let start = self.offset
        let typeByte = try self.readInteger(as: UInt8.self)
        guard let type = EventStreamHeaderValue.WireType(rawValue: typeByte) else {
            throw self.error("unknown header value type \(typeByte)", at: start)
        }
        switch type {
        case .boolTrue:
            return .bool(true)
        case .boolFalse:
            return .bool(false)
        case .byte:
            return .byte(try self.readInteger(as: Int8.self))
        case .short:
            return .short(try self.readInteger(as: Int16.self))
        case .integer:
            return .integer(try self.readInteger(as: Int32.self))
        case .long:
            return .long(try self.readInteger(as: Int64.self))
        case .byteArray:
            let length = Int(try self.readInteger(as: UInt16.self))
            return .byteArray(Array(try self.readBytes(length, at: start)))
        case .string:
            let length = Int(try self.readInteger(as: UInt16.self))
            guard let string = validatedString(try self.readBytes(length, at: start)) else {
                throw self.error("string header value is not valid UTF-8", at: start)
            }
            return .string(string)
        case .timestamp:
            return .timestamp(try self.readInteger(as: Int64.self))
        case .uuid:
            return .uuid(Array(try self.readBytes(EventStreamHeaderValue.uuidLength, at: start)))
        }
    }

    private mutating func readInteger<Integer: FixedWidthInteger>(as: Integer.Type) throws -> Integer {
        let bytes = try self.readBytes(MemoryLayout<Integer>.size, at: self.offset)
        return Integer(bigEndian: bytes.loadUnaligned(as: Integer.self))
    }

    /// - Parameter start: Where the item being read began, for the error message.
    private mutating func readBytes(_ count: Int, at start: Int) throws -> UnsafeRawBufferPointer {
        guard count <= self.bytes.count - self.offset else {
            throw self.error("header runs past the end of the headers section", at: start)
        }
        let slice = UnsafeRawBufferPointer(rebasing: self.bytes[self.offset..<(self.offset + count)])
        self.offset += count
        return slice
    }

    /// Offsets in messages are from the start of the frame, which is what a hex dump of it shows.
    private func error(_ reason: String, at offset: Int) -> EventStreamError {
        .invalidHeader("\(reason) (frame offset \(offset + 12))")
    }
}

/// The bytes as a string, or `nil` if they are not valid UTF-8.
///
/// Header names and values are ASCII in practice, and ASCII is always valid UTF-8. Checking for that first
/// skips `String(validating:as:)`, which looks up generic metadata on every call and was the largest cost
/// of decoding a typical small frame.
private func validatedString(_ bytes: UnsafeRawBufferPointer) -> String? {
    // The strings Amazon Q repeats come back as literals: no allocation, no validation.
    if let interned = InternedString(bytes) {
        return interned.string
    }
    if bytes.allSatisfy({ $0 < 0x80 }) {
        return String(decoding: bytes, as: UTF8.self)
    }
    return String(validating: bytes, as: UTF8.self)
}
