import EventStream
import NIOCore
import Testing

/// A small, fast, seedable generator (SplitMix64), so that randomised tests fail the same way every run.
struct SeededRandomNumberGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        self.state = seed
    }

    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// How a byte stream is cut into reads.
enum Chunking: Sendable, CustomTestStringConvertible {
    case whole
    case fixed(Int)
    case random(seed: UInt64)

    static let all: [Chunking] = [
        .whole, .fixed(1), .fixed(3), .fixed(7), .fixed(4096), .random(seed: 1), .random(seed: 42),
    ]

    var testDescription: String {
        switch self {
        case .whole: "in one piece"
        case .fixed(let size): "in \(size)-byte reads"
        case .random(let seed): "in random reads (seed \(seed))"
        }
    }

    /// The byte ranges of successive reads over `count` bytes.
    func ranges(count: Int) -> [Range<Int>] {
        var start = 0
        return self.sizes(count: count).map { size in
            defer { start += size }
            return start..<(start + size)
        }
    }

    /// Read sizes that add up to `count`.
    func sizes(count: Int) -> [Int] {
        guard count > 0 else { return [] }
        switch self {
        case .whole:
            return [count]
        case .fixed(let size):
            return stride(from: 0, to: count, by: size).map { min(size, count - $0) }
        case .random(let seed):
            var generator = SeededRandomNumberGenerator(seed: seed)
            var sizes: [Int] = []
            var remaining = count
            while remaining > 0 {
                // Mostly small reads, sometimes large ones, like a real network.
                let limit = Bool.random(using: &generator) ? 16 : 700
                let size = min(Int.random(in: 1...limit, using: &generator), remaining)
                sizes.append(size)
                remaining -= size
            }
            return sizes
        }
    }
}

/// Feeds `bytes` to a fresh decoder through NIO's own driver, one read per chunk, then ends the input,
/// exactly as `AsyncSequence.decode(using:)` does for a response body.
func decodeStream(_ bytes: [UInt8], chunking: Chunking = .whole) throws -> [EventStreamMessage] {
    let processor = NIOSingleStepByteToMessageProcessor(EventStreamDecoder())
    var messages: [EventStreamMessage] = []
    for range in chunking.ranges(count: bytes.count) {
        try processor.process(buffer: ByteBuffer(bytes: bytes[range])) { messages.append($0) }
    }
    try processor.finishProcessing(seenEOF: true) { messages.append($0) }
    return messages
}

/// The bytes of a frame with the given prelude fields and body, with both CRCs computed, so that tests can
/// build frames the encoder would refuse to produce.
func rawFrame(totalLength: UInt32? = nil, headersLength: UInt32? = nil, headers: [UInt8], payload: [UInt8] = [])
    -> [UInt8]
{
    var bytes: [UInt8] = []
    func append(_ value: UInt32) {
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
    }
    append(totalLength ?? UInt32(16 + headers.count + payload.count))
    append(headersLength ?? UInt32(headers.count))
    append(CRC32.checksum(bytes))
    bytes += headers
    bytes += payload
    append(CRC32.checksum(bytes))
    return bytes
}

/// Recomputes both CRCs of the frame at `offset` in place, trusting its `total_length` field if it fits.
func resealFrame(_ bytes: inout [UInt8], at offset: Int) {
    guard bytes.count - offset >= 12 else { return }
    let total = bytes[offset..<(offset + 4)].reduce(0) { $0 << 8 | Int($1) }
    let preludeCRC = CRC32.checksum(bytes[offset..<(offset + 8)])
    withUnsafeBytes(of: preludeCRC.bigEndian) { bytes.replaceSubrange((offset + 8)..<(offset + 12), with: $0) }
    guard total >= 16, bytes.count - offset >= total else { return }
    let messageCRC = CRC32.checksum(bytes[offset..<(offset + total - 4)])
    withUnsafeBytes(of: messageCRC.bigEndian) {
        bytes.replaceSubrange((offset + total - 4)..<(offset + total), with: $0)
    }
}

/// Parses a hex dump such as `"00 00 00 10"`, ignoring whitespace.
func hexBytes(_ text: String) -> [UInt8] {
    let digits = text.filter { !$0.isWhitespace }
    var bytes: [UInt8] = []
    var index = digits.startIndex
    while index < digits.endIndex {
        let next = digits.index(index, offsetBy: 2)
        bytes.append(UInt8(digits[index..<next], radix: 16)!)
        index = next
    }
    return bytes
}

extension EventStreamMessage {
    /// A three-string-header Amazon Q style event with a text payload.
    static func event(_ type: String, payload: String) -> EventStreamMessage {
        EventStreamMessage(
            headers: [
                EventStreamHeader(name: ":event-type", value: .string(type)),
                EventStreamHeader(name: ":content-type", value: .string("application/json")),
                EventStreamHeader(name: ":message-type", value: .string("event")),
            ],
            payload: ByteBuffer(string: payload)
        )
    }
}
