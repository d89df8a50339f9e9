import EventStream
import Foundation
import NIOCore
import Testing

@Suite("Decoding the sample response bodies")
struct SampleDecodingTests {
    @Test("each sample decodes to exactly the frames its .frames.json lists", arguments: Sample.names)
    func matchesOracle(name: String) throws {
        let sample = try Sample.load(name)
        var decoder = EventStreamDecoder()
        var buffer = ByteBuffer(bytes: sample.bytes)
        var decoded: [(offset: Int, length: Int, message: EventStreamMessage)] = []
        while buffer.readableBytes > 0, let message = try decoder.decode(buffer: &buffer) {
            let offset = decoded.last.map { $0.offset + $0.length } ?? 0
            decoded.append((offset, buffer.readerIndex - offset, message))
        }
        #expect(buffer.readableBytes == 0)
        try #require(decoded.count == sample.frames.count)

        for (frame, actual) in zip(sample.frames, decoded) {
            #expect(actual.offset == frame.offset)
            #expect(actual.length == frame.totalLength)
            #expect(actual.message.headers.map(\.name) == frame.headers.map(\.name))
            #expect(actual.message.headers.map(\.value) == frame.headers.map { .string($0.value) })
            #expect(actual.message.payload.readableBytes == frame.payloadLength)
            #expect(try normalizedJSON(payload: actual.message.payload) == frame.normalizedPayload)
        }
    }

    @Test("the oracle's CRCs are the CRC-32 of the sample bytes", arguments: Sample.names)
    func crcsMatchOracle(name: String) throws {
        let sample = try Sample.load(name)
        for frame in sample.frames {
            let bytes = sample.bytes[frame.offset..<(frame.offset + frame.totalLength)]
            #expect(CRC32.checksum(bytes.prefix(8)) == frame.preludeCRC)
            #expect(CRC32.checksum(bytes.dropLast(4)) == frame.messageCRC)
        }
    }

    @Test("a stream split over many reads decodes the same", arguments: Sample.names, Chunking.all)
    func chunked(name: String, chunking: Chunking) throws {
        let sample = try Sample.load(name)
        let expected = try decodeStream(sample.bytes)
        let actual = try decodeStream(sample.bytes, chunking: chunking)
        #expect(expected.count == sample.frames.count)
        #expect(actual == expected)
    }

    @Test("the three samples back to back are one valid stream of 21 frames")
    func concatenated() throws {
        let samples = try Sample.loadAll()
        let bytes = samples.flatMap(\.bytes)
        #expect(bytes.count == 3464)
        for chunking in [Chunking.whole, .fixed(1), .random(seed: 7)] {
            let messages = try decodeStream(bytes, chunking: chunking)
            #expect(messages.count == 21)
            #expect(messages.map(\.eventType).filter { $0 == "initial-response" }.count == 3)
        }
    }

    @Test("the exception frame is reported as an exception with its type")
    func exceptionFrame() throws {
        let messages = try decodeStream(try Sample.load("exception_stream").bytes)
        let last = try #require(messages.last)
        #expect(last.messageType == "exception")
        #expect(last.exceptionType == "ThrottlingException")
        #expect(last.eventType == nil)
        #expect(last.stringHeader(":content-type") == "application/json")
    }

    @Test("text split across frames reassembles into the full reply, multi-byte characters intact")
    func textReassembles() throws {
        let messages = try decodeStream(try Sample.load("text_stream").bytes, chunking: .fixed(1))
        var text = ""
        for message in messages where message.eventType == "assistantResponseEvent" {
            let object = try JSONSerialization.jsonObject(with: Data(message.payload.readableBytesView))
            text += try #require((object as? [String: Any])?["content"] as? String)
        }
        #expect(text == "Hello! 你好，how can I help you today? 🙂")
    }

    @Test("decoding through AsyncSequence.decode(using:) yields every frame")
    func asyncSequence() async throws {
        let bytes = try Sample.load("tool_use_stream").bytes
        let body = AsyncStream<ByteBuffer> { continuation in
            for range in Chunking.random(seed: 3).ranges(count: bytes.count) {
                continuation.yield(ByteBuffer(bytes: bytes[range]))
            }
            continuation.finish()
        }
        var count = 0
        for try await _ in body.decode(using: EventStreamDecoder()) {
            count += 1
        }
        #expect(count == 11)
    }
}

@Suite("Decoding the worked examples")
struct WorkedExampleTests {
    /// AMAZON_Q.md §4.4, typed in from the hex dump rather than read from the sample file.
    static let helloFrame = hexBytes(
        """
        00 00 00 7f 00 00 00 5c 7c 7d b5 a8 0b 3a 65 76
        65 6e 74 2d 74 79 70 65 07 00 16 61 73 73 69 73
        74 61 6e 74 52 65 73 70 6f 6e 73 65 45 76 65 6e
        74 0d 3a 63 6f 6e 74 65 6e 74 2d 74 79 70 65 07
        00 10 61 70 70 6c 69 63 61 74 69 6f 6e 2f 6a 73
        6f 6e 0d 3a 6d 65 73 73 61 67 65 2d 74 79 70 65
        07 00 05 65 76 65 6e 74 7b 22 63 6f 6e 74 65 6e
        74 22 3a 22 48 65 6c 6c 6f 22 7d 9b 5d 06 35
        """
    )

    @Test("the hex dump in AMAZON_Q.md §4.4 decodes to the documented frame")
    func helloFrameDecodes() throws {
        var decoder = EventStreamDecoder()
        var buffer = ByteBuffer(bytes: Self.helloFrame)
        let message = try #require(try decoder.decode(buffer: &buffer))
        #expect(buffer.readableBytes == 0)
        #expect(message == .event("assistantResponseEvent", payload: #"{"content":"Hello"}"#))
    }

    @Test("a frame with no headers and no payload is the 16-byte minimum")
    func emptyFrame() throws {
        let bytes = hexBytes("00 00 00 10 00 00 00 00 05 c2 48 eb 7d 98 c8 ff")
        var decoder = EventStreamDecoder()
        var buffer = ByteBuffer(bytes: bytes)
        let message = try #require(try decoder.decode(buffer: &buffer))
        #expect(message.headers.isEmpty)
        #expect(message.payload.readableBytes == 0)
        #expect(buffer.readableBytes == 0)
    }

    @Test("every header value type decodes as the spec lays it out")
    func everyHeaderType() throws {
        let headers = hexBytes(
            """
            01 74 00
            01 66 01
            01 62 02 fe
            01 73 03 80 00
            01 69 04 7f ff ff ff
            01 6c 05 80 00 00 00 00 00 00 00
            02 62 61 06 00 03 01 02 03
            03 73 74 72 07 00 03 68 c3 a9
            02 74 73 08 ff ff ff ff ff ff ff ff
            01 75 09 00 11 22 33 44 55 66 77 88 99 aa bb cc dd ee ff
            01 65 07 00 00
            """
        )
        let bytes = rawFrame(headers: headers, payload: Array("{}".utf8))
        var decoder = EventStreamDecoder()
        var buffer = ByteBuffer(bytes: bytes)
        let message = try #require(try decoder.decode(buffer: &buffer))
        let expected: [EventStreamHeader] = [
            EventStreamHeader(name: "t", value: .bool(true)),
            EventStreamHeader(name: "f", value: .bool(false)),
            EventStreamHeader(name: "b", value: .byte(-2)),
            EventStreamHeader(name: "s", value: .short(Int16.min)),
            EventStreamHeader(name: "i", value: .integer(Int32.max)),
            EventStreamHeader(name: "l", value: .long(Int64.min)),
            EventStreamHeader(name: "ba", value: .byteArray([1, 2, 3])),
            EventStreamHeader(name: "str", value: .string("hé")),
            EventStreamHeader(name: "ts", value: .timestamp(-1)),
            EventStreamHeader(
                name: "u",
                value: .uuid([
                    0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF,
                ])),
            EventStreamHeader(name: "e", value: .string("")),
        ]
        #expect(message.headers == expected)
        #expect(message.payload == ByteBuffer(string: "{}"))
        // The encoder must write the same bytes, independently of how the decoder reads them.
        #expect(Array(try EventStreamEncoder.encode(message).readableBytesView) == bytes)
    }
}

@Suite("Incremental decoding")
struct IncrementalDecodingTests {
    @Test("nothing is decoded or consumed until the whole frame has arrived")
    func waitsForWholeFrame() throws {
        let bytes = WorkedExampleTests.helloFrame
        var decoder = EventStreamDecoder()
        for count in 0..<bytes.count {
            var buffer = ByteBuffer(bytes: bytes[..<count])
            #expect(try decoder.decode(buffer: &buffer) == nil)
            #expect(buffer.readableBytes == count)
        }
    }

    @Test("each frame consumes exactly its own bytes and leaves the next frame's")
    func consumesExactly() throws {
        let sample = try Sample.load("tool_use_stream")
        var decoder = EventStreamDecoder()
        var buffer = ByteBuffer(bytes: sample.bytes)
        for frame in sample.frames {
            #expect(buffer.readerIndex == frame.offset)
            #expect(try decoder.decode(buffer: &buffer) != nil)
        }
        #expect(buffer.readableBytes == 0)
        #expect(try decoder.decode(buffer: &buffer) == nil)
    }

    @Test("decoding works from a buffer whose reader index is not zero")
    func nonZeroReaderIndex() throws {
        var buffer = ByteBuffer(bytes: [0xAA, 0xBB, 0xCC] + WorkedExampleTests.helloFrame)
        buffer.moveReaderIndex(forwardBy: 3)
        var decoder = EventStreamDecoder()
        let message = try #require(try decoder.decode(buffer: &buffer))
        #expect(message.eventType == "assistantResponseEvent")
        #expect(buffer.readableBytes == 0)
    }

    @Test("the payload is the frame's payload bytes only")
    func payloadIsExact() throws {
        var decoder = EventStreamDecoder()
        var buffer = ByteBuffer(bytes: WorkedExampleTests.helloFrame + WorkedExampleTests.helloFrame)
        let message = try #require(try decoder.decode(buffer: &buffer))
        #expect(String(buffer: message.payload) == #"{"content":"Hello"}"#)
    }
}

@Suite("Truncated input")
struct TruncationTests {
    @Test("a body cut off mid-frame yields the whole frames, then reports truncation")
    func cutOffMidFrame() throws {
        let bytes = Array(try Sample.load("tool_use_stream").bytes.prefix(1000))
        let processor = NIOSingleStepByteToMessageProcessor(EventStreamDecoder())
        var messages: [EventStreamMessage] = []
        try processor.process(buffer: ByteBuffer(bytes: bytes)) { messages.append($0) }
        #expect(messages.count == 6)
        #expect(throws: EventStreamError.truncated) {
            try processor.finishProcessing(seenEOF: true) { messages.append($0) }
        }
        #expect(messages.count == 6)
    }

    @Test(
        "a body cut at any byte yields the frames before the cut, and truncation unless the cut is between frames",
        arguments: Sample.names)
    func everyCut(name: String) throws {
        let sample = try Sample.load(name)
        let boundaries = Set(sample.frames.map { $0.offset + $0.totalLength } + [0])
        for cut in 0...sample.bytes.count {
            var decoder = EventStreamDecoder()
            var buffer = ByteBuffer(bytes: sample.bytes[..<cut])
            var count = 0
            while let _ = try decoder.decode(buffer: &buffer) { count += 1 }
            #expect(count == sample.frames.filter { $0.offset + $0.totalLength <= cut }.count)
            if boundaries.contains(cut) {
                #expect(try decoder.decodeLast(buffer: &buffer, seenEOF: true) == nil)
            } else {
                #expect(throws: EventStreamError.truncated) { try decoder.decodeLast(buffer: &buffer, seenEOF: true) }
            }
        }
    }

    @Test("an empty body, or one that ends exactly after a frame, ends cleanly")
    func cleanEnd() throws {
        #expect(try decodeStream([]).isEmpty)
        #expect(try decodeStream(WorkedExampleTests.helloFrame, chunking: .fixed(5)).count == 1)
    }

    @Test("decodeLast still returns whole frames left in the buffer, one per call")
    func decodeLastReturnsFrames() throws {
        var decoder = EventStreamDecoder()
        var buffer = ByteBuffer(bytes: WorkedExampleTests.helloFrame + WorkedExampleTests.helloFrame)
        #expect(try decoder.decodeLast(buffer: &buffer, seenEOF: true) != nil)
        #expect(try decoder.decodeLast(buffer: &buffer, seenEOF: false) != nil)
        #expect(try decoder.decodeLast(buffer: &buffer, seenEOF: true) == nil)
    }

    @Test("leftover bytes are reported even when the input ends without EOF")
    func leftoverWithoutEOF() throws {
        var decoder = EventStreamDecoder()
        var buffer = ByteBuffer(bytes: WorkedExampleTests.helloFrame.prefix(20))
        #expect(throws: EventStreamError.truncated) { try decoder.decodeLast(buffer: &buffer, seenEOF: false) }
    }

    @Test("a truncated body read through AsyncSequence.decode(using:) throws instead of ending quietly")
    func asyncSequenceTruncated() async throws {
        let bytes = Array(try Sample.load("text_stream").bytes.dropLast(3))
        let body = AsyncStream<ByteBuffer> { continuation in
            continuation.yield(ByteBuffer(bytes: bytes))
            continuation.finish()
        }
        var count = 0
        await #expect(throws: EventStreamError.truncated) {
            for try await _ in body.decode(using: EventStreamDecoder()) { count += 1 }
        }
        #expect(count == 5)
    }
}

@Suite("Invalid lengths")
struct InvalidLengthTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var testDescription: String
        var totalLength: UInt32
        var headersLength: UInt32
        var maximum = EventStreamDecoder.defaultMaximumMessageLength
        var error: EventStreamError
    }

    static let cases: [Case] = [
        Case(testDescription: "total_length 0", totalLength: 0, headersLength: 0, error: .invalidLength),
        Case(
            testDescription: "total_length 12, only a prelude", totalLength: 12, headersLength: 0, error: .invalidLength
        ),
        Case(testDescription: "total_length 15", totalLength: 15, headersLength: 0, error: .invalidLength),
        Case(
            testDescription: "headers longer than a 16-byte frame", totalLength: 16, headersLength: 1,
            error: .invalidLength),
        Case(testDescription: "headers one byte too long", totalLength: 100, headersLength: 85, error: .invalidLength),
        Case(
            testDescription: "headers_length UInt32.max", totalLength: 100, headersLength: .max, error: .invalidLength),
        Case(testDescription: "total_length UInt32.max", totalLength: .max, headersLength: 0, error: .messageTooLarge),
        Case(
            testDescription: "one byte over the default maximum",
            totalLength: UInt32(EventStreamDecoder.defaultMaximumMessageLength + 1), headersLength: 0,
            error: .messageTooLarge),
        Case(
            testDescription: "one byte over a custom maximum", totalLength: 1025, headersLength: 0, maximum: 1024,
            error: .messageTooLarge),
    ]

    @Test("a prelude with a correct CRC but impossible lengths is rejected as soon as it arrives", arguments: cases)
    func rejected(testCase: Case) throws {
        let prelude = Array(
            rawFrame(totalLength: testCase.totalLength, headersLength: testCase.headersLength, headers: []).prefix(12))
        var decoder = EventStreamDecoder(maximumMessageLength: testCase.maximum)
        var buffer = ByteBuffer(bytes: prelude)
        #expect(throws: testCase.error) { try decoder.decode(buffer: &buffer) }
        #expect(buffer.readableBytes == 12, "a failed decode consumes nothing")
        // The same error again, rather than a different reading of the same bytes.
        #expect(throws: testCase.error) { try decoder.decode(buffer: &buffer) }
    }

    @Test("a frame exactly at the maximum length decodes")
    func exactlyAtMaximum() throws {
        let bytes = rawFrame(headers: [], payload: Array(repeating: 0x20, count: 1024 - 16))
        var decoder = EventStreamDecoder(maximumMessageLength: 1024)
        var buffer = ByteBuffer(bytes: bytes)
        #expect(try decoder.decode(buffer: &buffer)?.payload.readableBytes == 1008)
    }

    @Test("headers that fill the whole frame leave an empty payload")
    func headersFillFrame() throws {
        let headers: [UInt8] = [1, 0x61, 0]
        var decoder = EventStreamDecoder()
        var buffer = ByteBuffer(bytes: rawFrame(headers: headers))
        let message = try #require(try decoder.decode(buffer: &buffer))
        #expect(message.headers == [EventStreamHeader(name: "a", value: .bool(true))])
        #expect(message.payload.readableBytes == 0)
    }
}

@Suite("Malformed headers")
struct MalformedHeaderTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var testDescription: String
        var headers: [UInt8]
    }

    static let cases: [Case] = [
        Case(testDescription: "unknown value type 10", headers: [1, 0x61, 10]),
        Case(testDescription: "unknown value type 255", headers: [1, 0x61, 255, 0, 0]),
        Case(testDescription: "empty name", headers: [0, 7, 0, 1, 0x61]),
        Case(testDescription: "name longer than the section", headers: [5, 0x61, 0x62]),
        Case(testDescription: "name with no type byte", headers: [1, 0x61]),
        Case(testDescription: "byte value missing", headers: [1, 0x61, 2]),
        Case(testDescription: "short value cut off", headers: [1, 0x61, 3, 0]),
        Case(testDescription: "integer value cut off", headers: [1, 0x61, 4, 0, 0, 0]),
        Case(testDescription: "long value cut off", headers: [1, 0x61, 5, 0, 0, 0, 0, 0, 0, 0]),
        Case(testDescription: "timestamp value cut off", headers: [1, 0x61, 8, 0]),
        Case(testDescription: "uuid value cut off", headers: [1, 0x61, 9] + Array(repeating: 0, count: 15)),
        Case(testDescription: "string length field cut off", headers: [1, 0x61, 7, 0]),
        Case(testDescription: "string longer than the section", headers: [1, 0x61, 7, 0, 5, 0x61, 0x62]),
        Case(testDescription: "byte array longer than the section", headers: [1, 0x61, 6, 0xFF, 0xFF, 1, 2, 3]),
        Case(testDescription: "name that is not UTF-8", headers: [2, 0xC3, 0x28, 0]),
        Case(testDescription: "string value that is not UTF-8", headers: [1, 0x61, 7, 0, 2, 0xFF, 0xFE]),
        Case(testDescription: "string value with a lone surrogate", headers: [1, 0x61, 7, 0, 3, 0xED, 0xA0, 0x80]),
        Case(testDescription: "a stray byte after a valid header", headers: [1, 0x61, 0, 1]),
    ]

    @Test("a frame with a malformed headers section is rejected even though its CRCs match", arguments: cases)
    func rejected(testCase: Case) throws {
        var decoder = EventStreamDecoder()
        var buffer = ByteBuffer(bytes: rawFrame(headers: testCase.headers, payload: Array("{}".utf8)))
        #expect(throws: EventStreamError.invalidHeader) { try decoder.decode(buffer: &buffer) }
    }

    @Test("string and byte array values longer than the spec's 32,767 bytes are still read")
    func longValuesAccepted() throws {
        let value = Array(repeating: UInt8(0x61), count: 40_000)
        let headers: [UInt8] = [1, 0x61, 7, 0x9C, 0x40] + value
        var decoder = EventStreamDecoder()
        var buffer = ByteBuffer(bytes: rawFrame(headers: headers))
        let message = try #require(try decoder.decode(buffer: &buffer))
        #expect(message.stringHeader("a")?.utf8.count == 40_000)
    }
}
