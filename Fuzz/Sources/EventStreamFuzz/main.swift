// libFuzzer entry point for the AWS event-stream decoder (Sources/EventStream). See Fuzz/README.md.
//
// Input layout (the first bytes steer the harness, the rest is the byte stream under test):
//
//   byte 0        flags: bits 0-2 = n, the number of chunk-size bytes that follow (0: the stream arrives in one
//                 read); bit 3 = reseal: recompute both CRCs of every frame the stream's length fields delimit,
//                 so that mutations reach the header parser instead of dying at the checksums; bit 4 = a small
//                 `maximumMessageLength` (256) instead of the default.
//   bytes 1...n   read sizes (value + 1), used in turn, cycling, to cut the stream into network reads.
//   the rest      the response body.
//
// Invariants checked on every input (a violation calls `fatalError`, which libFuzzer reports as a crash):
//
//   1. decoding never traps and only ever throws `EventStreamError`;
//   2. every decoded frame consumes at least 16 bytes (no frame without progress, so no endless loop);
//   3. the stream decodes to the same frames and the same error whether it arrives in one read, in the chunks
//      the input chooses (through NIO's `NIOSingleStepByteToMessageProcessor`, as `decode(using:)` drives it), or
//      through the hand-written read loop of `QEventStream` (Sources/Upstream/AmazonQClient.swift);
//   4. each decoded frame re-encodes with `EventStreamEncoder` to exactly the bytes it was decoded from, and those
//      bytes decode to an equal message (except a frame with a string or byte-array header value over the spec's
//      32,767 bytes, which the decoder reads and the encoder refuses, both on purpose: see `checkRoundTrip`);
//   5. each of the first two decoded frames, split into two reads at each point near a field boundary (the prelude and its CRC, the
//      first headers, the end of the headers, the message CRC, the middle), decodes to the same message with
//      nothing left over. (Splits anywhere else are covered by 3, where the input chooses the read sizes.)
import EventStream
import NIOCore

@_cdecl("LLVMFuzzerTestOneInput")
public func eventStreamFuzz(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    guard let start, count > 0 else { return 0 }
    let input = UnsafeRawBufferPointer(start: start, count: count)
    let flags = input[0]
    let sizeCount = min(Int(flags & 0x07), count - 1)
    let readSizes = input[1..<(1 + sizeCount)].map { Int($0) + 1 }
    var stream = Array(input[(1 + sizeCount)...])
    if flags & 0x08 != 0 {
        reseal(&stream)
    }
    let maximumMessageLength = flags & 0x10 != 0 ? 256 : EventStreamDecoder.defaultMaximumMessageLength

    let whole = decodeInOneRead(stream, maximumMessageLength: maximumMessageLength)
    let chunks = cut(stream, sizes: readSizes)
    let processed = decodeWithProcessor(chunks, maximumMessageLength: maximumMessageLength)
    let looped = decodeLikeQEventStream(chunks, maximumMessageLength: maximumMessageLength)
    check(processed, equals: whole, "NIOSingleStepByteToMessageProcessor in reads of \(readSizes)")
    check(looped, equals: whole, "the QEventStream read loop in reads of \(readSizes)")

    var offset = 0
    for (index, message) in whole.messages.enumerated() {
        let length = whole.frameLengths[index]
        let frame = Array(stream[offset..<(offset + length)])
        checkRoundTrip(message, frame: frame, index: index)
        // Two frames are enough here: invariant 3 already splits every frame where the input says.
        if index < 2 {
            checkSplits(message, frame: frame, index: index, maximumMessageLength: maximumMessageLength)
        }
        offset += length
    }
    return 0
}

// MARK: - Outcomes

/// What a decode of a whole stream produced: the frames in order, the length of each, and how it ended.
struct Outcome {
    var messages: [EventStreamMessage] = []
    var frameLengths: [Int] = []
    /// `nil` when every byte formed whole frames.
    var error: EventStreamError?
}

func check(_ actual: Outcome, equals expected: Outcome, _ how: @autoclosure () -> String) {
    guard actual.messages == expected.messages, actual.error == expected.error else {
        fatalError(
            """
            decoding \(how()) differs from decoding in one read: \(actual.messages.count) frames, \
            error \(describe(actual.error)); in one read: \(expected.messages.count) frames, \
            error \(describe(expected.error))
            """
        )
    }
}

func describe(_ error: EventStreamError?) -> String {
    error.map { String(describing: $0) } ?? "none"
}

/// Calls `body`, turning any error other than `EventStreamError` into a crash.
func eventStreamErrors<T>(_ what: String, _ body: () throws -> T) throws(EventStreamError) -> T {
    do {
        return try body()
    } catch let error as EventStreamError {
        throw error
    } catch {
        fatalError("\(what) threw \(type(of: error)), not EventStreamError: \(error)")
    }
}

// MARK: - Three ways to feed the decoder

/// The reference: all bytes in one buffer, `decode` until it returns `nil`, then `decodeLast` as at end of input.
func decodeInOneRead(_ stream: [UInt8], maximumMessageLength: Int) -> Outcome {
    var decoder = EventStreamDecoder(maximumMessageLength: maximumMessageLength)
    var buffer = ByteBuffer(bytes: stream)
    var outcome = Outcome()
    var last = false
    do throws(EventStreamError) {
        while true {
            let before = buffer.readerIndex
            let message = try eventStreamErrors("decode") {
                last
                    ? try decoder.decodeLast(buffer: &buffer, seenEOF: true)
                    : try decoder.decode(buffer: &buffer)
            }
            guard let message else {
                if last { break }
                last = true
                continue
            }
            let consumed = buffer.readerIndex - before
            guard consumed >= 16 else {
                fatalError("a frame was returned after consuming \(consumed) bytes; the minimum frame is 16")
            }
            touch(message)
            outcome.messages.append(message)
            outcome.frameLengths.append(consumed)
        }
        if buffer.readableBytes != 0 {
            fatalError("decodeLast returned nil with \(buffer.readableBytes) bytes left")
        }
    } catch {
        outcome.error = error
        // After an error the readable bytes must be untouched, so calling again throws the same kind of error.
        do throws(EventStreamError) {
            _ = try eventStreamErrors("decode after an error") {
                last
                    ? try decoder.decodeLast(buffer: &buffer, seenEOF: true)
                    : try decoder.decode(buffer: &buffer)
            }
            fatalError("decoding again after \(error) did not throw")
        } catch let again {
            if again != error {
                fatalError("decoding again after \(error) threw a different error: \(again)")
            }
        }
    }
    return outcome
}

/// NIO's driver, as `AsyncSequence.decode(using:)` uses it for a response body: one `process` per read, then
/// `finishProcessing(seenEOF: true)`.
func decodeWithProcessor(_ chunks: [[UInt8]], maximumMessageLength: Int) -> Outcome {
    let processor = NIOSingleStepByteToMessageProcessor(
        EventStreamDecoder(maximumMessageLength: maximumMessageLength)
    )
    var outcome = Outcome()
    do throws(EventStreamError) {
        for chunk in chunks {
            try eventStreamErrors("process") {
                try processor.process(buffer: ByteBuffer(bytes: chunk)) { outcome.messages.append($0) }
            }
        }
        try eventStreamErrors("finishProcessing") {
            try processor.finishProcessing(seenEOF: true) { outcome.messages.append($0) }
        }
    } catch {
        outcome.error = error
    }
    return outcome
}

/// The loop of `QEventStream.Iterator` (Sources/Upstream/AmazonQClient.swift): one growing buffer, each read
/// appended, `decode` until `nil`, the buffer cleared once empty, `decodeLast` at the end.
func decodeLikeQEventStream(_ chunks: [[UInt8]], maximumMessageLength: Int) -> Outcome {
    var decoder = EventStreamDecoder(maximumMessageLength: maximumMessageLength)
    var buffer = ByteBuffer()
    var outcome = Outcome()
    do throws(EventStreamError) {
        for chunk in chunks {
            buffer.writeBytes(chunk)
            while let message = try eventStreamErrors("decode", { try decoder.decode(buffer: &buffer) }) {
                outcome.messages.append(message)
                if buffer.readableBytes == 0 { buffer.clear() }
            }
        }
        while let message = try eventStreamErrors(
            "decodeLast",
            {
                try decoder.decodeLast(buffer: &buffer, seenEOF: true)
            })
        {
            outcome.messages.append(message)
        }
    } catch {
        outcome.error = error
    }
    return outcome
}

// MARK: - Per-frame invariants

/// Encoding a decoded frame gives back its bytes, and decoding those gives back the frame.
///
/// One known exception: the decoder reads string and byte-array values up to the 65,535 bytes their uint16 length
/// allows (on purpose, see EventStreamDecoderTests' "longer than the spec's 32,767 bytes are still read"), while the
/// encoder refuses more than the spec's 32,767. Such a frame is exempt; any other encoding failure is a bug.
func checkRoundTrip(_ message: EventStreamMessage, frame: [UInt8], index: Int) {
    let encoded: ByteBuffer
    do {
        encoded = try EventStreamEncoder.encode(message)
    } catch {
        let exempt = message.headers.contains { $0.value.isLongerThanTheSpecAllows }
        if exempt, (error as? EventStreamError) == .invalidHeader {
            return
        }
        fatalError("frame \(index) decoded but does not re-encode: \(error)")
    }
    guard Array(encoded.readableBytesView) == frame else {
        fatalError("frame \(index) re-encodes to \(encoded.readableBytes) different bytes (was \(frame.count))")
    }
    var decoder = EventStreamDecoder()
    var buffer = encoded
    do {
        guard let again = try decoder.decode(buffer: &buffer), buffer.readableBytes == 0, again == message else {
            fatalError("frame \(index) re-encoded does not decode to the same message")
        }
    } catch {
        fatalError("frame \(index) re-encoded does not decode: \(error)")
    }
}

/// The frame split into two reads at each chosen point decodes to the same single message.
func checkSplits(_ message: EventStreamMessage, frame: [UInt8], index: Int, maximumMessageLength: Int) {
    let length = frame.count
    // Around every boundary: the prelude fields, its CRC, the first headers, the end of the headers, the CRC.
    let headersEnd = 12 + Int(frame[4]) << 24 + Int(frame[5]) << 16 + Int(frame[6]) << 8 + Int(frame[7])
    var points = Set(1...min(17, length - 1))
    points.formUnion(((headersEnd - 2)...(headersEnd + 2)).filter { $0 > 0 && $0 < length })
    points.formUnion(max(1, length - 6)..<length)
    points.insert(length / 2)
    for point in points.sorted() {
        let processor = NIOSingleStepByteToMessageProcessor(
            EventStreamDecoder(maximumMessageLength: maximumMessageLength)
        )
        var messages: [EventStreamMessage] = []
        do {
            try processor.process(buffer: ByteBuffer(bytes: frame[..<point])) { messages.append($0) }
            try processor.process(buffer: ByteBuffer(bytes: frame[point...])) { messages.append($0) }
            try processor.finishProcessing(seenEOF: true) { messages.append($0) }
        } catch {
            fatalError("frame \(index) split at byte \(point) of \(length) throws \(error)")
        }
        guard messages == [message] else {
            fatalError("frame \(index) split at byte \(point) of \(length) decodes to \(messages.count) other frames")
        }
    }
}

extension EventStreamHeaderValue {
    var isLongerThanTheSpecAllows: Bool {
        switch self {
        case .string(let string): string.utf8.count > 32_767
        case .byteArray(let bytes): bytes.count > 32_767
        default: false
        }
    }
}

/// Reads every accessor, so that none of them can trap unseen.
func touch(_ message: EventStreamMessage) {
    _ = message.messageType
    _ = message.eventType
    _ = message.exceptionType
    _ = message.errorCode
    _ = message.errorMessage
    _ = message.header("")
    _ = message.payload.readableBytesView.count
}

// MARK: - Input shaping

/// `stream` cut into reads of the given sizes, used in turn; one read if there are no sizes.
func cut(_ stream: [UInt8], sizes: [Int]) -> [[UInt8]] {
    guard !sizes.isEmpty else { return [stream] }
    var chunks: [[UInt8]] = []
    var offset = 0
    var turn = 0
    while offset < stream.count {
        let size = min(sizes[turn % sizes.count], stream.count - offset)
        chunks.append(Array(stream[offset..<(offset + size)]))
        offset += size
        turn += 1
    }
    return chunks
}

/// Recomputes the prelude CRC and, when the whole frame is present, the message CRC of each frame in turn,
/// trusting each frame's `total_length`. Stops at the first length under 16.
func reseal(_ bytes: inout [UInt8]) {
    var offset = 0
    while bytes.count - offset >= 12 {
        let total = bytes[offset..<(offset + 4)].reduce(0) { $0 << 8 | Int($1) }
        store(CRC32.checksum(bytes[offset..<(offset + 8)]), into: &bytes, at: offset + 8)
        guard total >= 16, bytes.count - offset >= total else { return }
        store(CRC32.checksum(bytes[offset..<(offset + total - 4)]), into: &bytes, at: offset + total - 4)
        offset += total
    }
}

func store(_ value: UInt32, into bytes: inout [UInt8], at offset: Int) {
    bytes[offset] = UInt8(truncatingIfNeeded: value >> 24)
    bytes[offset + 1] = UInt8(truncatingIfNeeded: value >> 16)
    bytes[offset + 2] = UInt8(truncatingIfNeeded: value >> 8)
    bytes[offset + 3] = UInt8(truncatingIfNeeded: value)
}
