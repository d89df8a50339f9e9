import EventStream
import NIOCore
import Testing

@Suite("Encoding")
struct EventStreamEncoderTests {
    @Test("re-encoding the decoded sample frames reproduces the sample bytes exactly", arguments: Sample.names)
    func samplesRoundTrip(name: String) throws {
        let sample = try Sample.load(name)
        var encoded = ByteBuffer()
        for message in try decodeStream(sample.bytes) {
            try EventStreamEncoder.encode(message, into: &encoded)
        }
        #expect(Array(encoded.readableBytesView) == sample.bytes)
    }

    @Test("the worked example frame encodes to the documented bytes")
    func helloFrame() throws {
        let encoded = try EventStreamEncoder.encode(.event("assistantResponseEvent", payload: #"{"content":"Hello"}"#))
        #expect(Array(encoded.readableBytesView) == WorkedExampleTests.helloFrame)
    }

    @Test("a message with no headers and no payload encodes to the 16-byte minimum frame")
    func emptyMessage() throws {
        let encoded = try EventStreamEncoder.encode(EventStreamMessage(headers: [], payload: ByteBuffer()))
        #expect(Array(encoded.readableBytesView) == hexBytes("00 00 00 10 00 00 00 00 05 c2 48 eb 7d 98 c8 ff"))
    }

    @Test("random messages with every header type decode to what was encoded", arguments: [1, 2, 3] as [UInt64])
    func randomRoundTrip(seed: UInt64) throws {
        var generator = SeededRandomNumberGenerator(seed: seed)
        let messages = (0..<300).map { _ in EventStreamMessage.random(using: &generator) }
        var stream = ByteBuffer()
        for message in messages {
            let encoded = try EventStreamEncoder.encode(message)
            var decoder = EventStreamDecoder()
            var buffer = encoded
            #expect(try decoder.decode(buffer: &buffer) == message)
            #expect(buffer.readableBytes == 0)
            try EventStreamEncoder.encode(message, into: &stream)
        }
        // The same messages back to back, read in uneven pieces.
        #expect(try decodeStream(Array(stream.readableBytesView), chunking: .random(seed: seed)) == messages)
    }

    @Test("extreme header values survive a round trip")
    func extremeValues() throws {
        let headers: [EventStreamHeader] = [
            .init(name: "bool", value: .bool(false)),
            .init(name: "byte-min", value: .byte(.min)),
            .init(name: "byte-max", value: .byte(.max)),
            .init(name: "short-min", value: .short(.min)),
            .init(name: "int-min", value: .integer(.min)),
            .init(name: "long-max", value: .long(.max)),
            .init(name: "ts-min", value: .timestamp(.min)),
            .init(name: "ts-now", value: .timestamp(1_732_233_600_000)),
            .init(name: "empty-bytes", value: .byteArray([])),
            .init(name: "empty-string", value: .string("")),
            .init(name: "max-bytes", value: .byteArray(Array(repeating: 0xFF, count: 32_767))),
            .init(name: "max-string", value: .string(String(repeating: "x", count: 32_767))),
            .init(name: String(repeating: "n", count: 255), value: .uuid(Array(0..<16))),
            .init(name: "名前🙂", value: .string("値 🙂")),
        ]
        let message = EventStreamMessage(headers: headers, payload: ByteBuffer(bytes: [0, 1, 2, 0xFF]))
        var buffer = try EventStreamEncoder.encode(message)
        var decoder = EventStreamDecoder()
        #expect(try decoder.decode(buffer: &buffer) == message)
    }

    @Test("encoding appends to a buffer and leaves its existing bytes alone")
    func appends() throws {
        var buffer = ByteBuffer(bytes: [1, 2, 3, 4])
        buffer.moveReaderIndex(forwardBy: 2)
        try EventStreamEncoder.encode(.event("assistantResponseEvent", payload: #"{"content":"Hello"}"#), into: &buffer)
        #expect(Array(buffer.readableBytesView) == [3, 4] + WorkedExampleTests.helloFrame)
    }

    @Test("only the payload's readable bytes are encoded")
    func payloadReadableBytesOnly() throws {
        var payload = ByteBuffer(string: "xx{\"content\":\"Hello\"}")
        payload.moveReaderIndex(forwardBy: 2)
        var message = EventStreamMessage.event("assistantResponseEvent", payload: "")
        message.payload = payload
        let encoded = try EventStreamEncoder.encode(message)
        #expect(Array(encoded.readableBytesView) == WorkedExampleTests.helloFrame)
    }

    struct Unencodable: Sendable, CustomTestStringConvertible {
        var testDescription: String
        var header: EventStreamHeader
    }

    static let unencodable: [Unencodable] = [
        .init(testDescription: "an empty name", header: .init(name: "", value: .bool(true))),
        .init(
            testDescription: "a 256-byte name",
            header: .init(name: String(repeating: "a", count: 256), value: .bool(true))),
        .init(
            testDescription: "a 128-character name of 256 UTF-8 bytes",
            header: .init(name: String(repeating: "é", count: 128), value: .bool(true))),
        .init(
            testDescription: "a 32,768-byte string",
            header: .init(name: "a", value: .string(String(repeating: "a", count: 32_768)))),
        .init(
            testDescription: "a string of 32,768 UTF-8 bytes",
            header: .init(name: "a", value: .string(String(repeating: "é", count: 16_384)))),
        .init(
            testDescription: "a 32,768-byte byte array",
            header: .init(name: "a", value: .byteArray(Array(repeating: 0, count: 32_768)))),
        .init(
            testDescription: "a 15-byte UUID", header: .init(name: "a", value: .uuid(Array(repeating: 0, count: 15)))),
        .init(
            testDescription: "a 17-byte UUID", header: .init(name: "a", value: .uuid(Array(repeating: 0, count: 17)))),
    ]

    @Test("a header the wire format cannot hold is refused and nothing is written", arguments: unencodable)
    func refusesUnencodable(testCase: Unencodable) throws {
        let message = EventStreamMessage(
            headers: [.init(name: ":message-type", value: .string("event")), testCase.header],
            payload: ByteBuffer(string: "{}")
        )
        var buffer = ByteBuffer(bytes: [9, 9, 9])
        #expect(throws: EventStreamError.invalidHeader) { try EventStreamEncoder.encode(message, into: &buffer) }
        #expect(Array(buffer.readableBytesView) == [9, 9, 9])
    }
}

extension EventStreamMessage {
    /// A message with 0 to 8 headers of random types, names and values, and a random payload.
    static func random(using generator: inout SeededRandomNumberGenerator) -> EventStreamMessage {
        let headers = (0..<Int.random(in: 0...8, using: &generator)).map { _ in
            EventStreamHeader(name: randomString(length: 1...40, using: &generator), value: .random(using: &generator))
        }
        let payload = (0..<Int.random(in: 0...2_000, using: &generator)).map { _ in
            UInt8.random(in: 0...255, using: &generator)
        }
        return EventStreamMessage(headers: headers, payload: ByteBuffer(bytes: payload))
    }
}

extension EventStreamHeaderValue {
    static func random(using generator: inout SeededRandomNumberGenerator) -> EventStreamHeaderValue {
        func bytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) } }
        switch Int.random(in: 0...9, using: &generator) {
        case 0: return .bool(true)
        case 1: return .bool(false)
        case 2: return .byte(.random(in: .min ... .max, using: &generator))
        case 3: return .short(.random(in: .min ... .max, using: &generator))
        case 4: return .integer(.random(in: .min ... .max, using: &generator))
        case 5: return .long(.random(in: .min ... .max, using: &generator))
        case 6: return .byteArray(bytes(Int.random(in: 0...300, using: &generator)))
        case 7: return .string(randomString(length: 0...100, using: &generator))
        case 8: return .timestamp(.random(in: .min ... .max, using: &generator))
        default: return .uuid(bytes(16))
        }
    }
}

/// Mixes 1-, 2-, 3- and 4-byte UTF-8 characters; the encoder counts bytes, not characters.
private func randomString(length: ClosedRange<Int>, using generator: inout SeededRandomNumberGenerator) -> String {
    let alphabet: [Character] = ["a", "Z", "0", ":", "-", "_", " ", "é", "ß", "中", "文", "🙂", "\u{0}"]
    return String(
        (0..<Int.random(in: length, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! })
}
