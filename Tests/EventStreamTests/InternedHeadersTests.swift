import NIOCore
import Testing

@testable import EventStream

@Suite("Interned header strings")
struct InternedStringTests {
    @Test("every interned string is found by its own bytes, and its two spellings agree", arguments: InternedString.allCases)
    func foundByItsBytes(interned: InternedString) {
        let bytes = Array(interned.string.utf8)
        #expect(interned.bytes.withUTF8Buffer { Array($0) } == bytes)
        #expect(bytes.withUnsafeBytes { InternedString($0) } == interned)
    }

    @Test("bytes one byte off an interned string are not taken for it", arguments: InternedString.allCases)
    func nearMisses(interned: InternedString) {
        let bytes = Array(interned.string.utf8)
        for index in bytes.indices {
            var changed = bytes
            changed[index] ^= 0x20
            #expect(changed.withUnsafeBytes { InternedString($0) } == nil, "\(interned) with byte \(index) changed")
        }
        #expect(Array(bytes.dropLast()).withUnsafeBytes { InternedString($0) } == nil)
        #expect((bytes + [0x73]).withUnsafeBytes { InternedString($0) } == nil)
        #expect([UInt8]().withUnsafeBytes { InternedString($0) } == nil)
    }

    @Test("no two interned strings have the same text")
    func distinct() {
        #expect(Set(InternedString.allCases.map(\.string)).count == InternedString.allCases.count)
    }
}

@Suite("Interned headers of decoded frames")
struct InternedHeadersTests {
    /// Decodes one frame made of `headers` and `payload`.
    private func decode(_ message: EventStreamMessage) throws -> EventStreamMessage {
        var decoder = EventStreamDecoder()
        var buffer = try EventStreamEncoder.encode(message)
        let decoded = try #require(try decoder.decode(buffer: &buffer))
        #expect(buffer.readableBytes == 0)
        return decoded
    }

    private func isInterned(_ message: EventStreamMessage) -> Bool {
        if case .interned = message.headerStorage { return true }
        return false
    }

    @Test("an Amazon Q event frame is held interned and reads the same as one built from an array")
    func eventFrame() throws {
        let built = EventStreamMessage.event("assistantResponseEvent", payload: #"{"content":"Hi"}"#)
        let decoded = try self.decode(built)
        #expect(self.isInterned(decoded))
        #expect(decoded == built)
        #expect(built == decoded)
        #expect(decoded.headers == built.headers)
        #expect(decoded.eventType == "assistantResponseEvent")
        #expect(decoded.messageType == "event")
        #expect(decoded.stringHeader(":content-type") == "application/json")
        #expect(decoded.header(":content-type") == .string("application/json"))
        #expect(decoded.exceptionType == nil)
        #expect(decoded.errorCode == nil)
        #expect(decoded.errorMessage == nil)
        #expect(decoded.header("missing") == nil)
        #expect(decoded.header("") == nil)
        #expect(String(buffer: decoded.payload) == #"{"content":"Hi"}"#)
    }

    @Test("the AMAZON_Q.md §4.4 frame is held interned and re-encodes to its own bytes")
    func workedExample() throws {
        var decoder = EventStreamDecoder()
        var buffer = ByteBuffer(bytes: WorkedExampleTests.helloFrame)
        let message = try #require(try decoder.decode(buffer: &buffer))
        #expect(self.isInterned(message))
        #expect(Array(try EventStreamEncoder.encode(message).readableBytesView) == WorkedExampleTests.helloFrame)
    }

    @Test("an exception frame with a known exception name is held interned")
    func exceptionFrame() throws {
        let built = EventStreamMessage(
            headers: [
                EventStreamHeader(name: ":exception-type", value: .string("ThrottlingException")),
                EventStreamHeader(name: ":content-type", value: .string("application/json")),
                EventStreamHeader(name: ":message-type", value: .string("exception")),
            ],
            payload: ByteBuffer(string: #"{"message":"Rate exceeded"}"#)
        )
        let decoded = try self.decode(built)
        #expect(self.isInterned(decoded))
        #expect(decoded == built)
        #expect(decoded.exceptionType == "ThrottlingException")
        #expect(decoded.messageType == "exception")
        #expect(decoded.eventType == nil)
    }

    @Test(
        "headers that are not all interned strings are decoded into the array, unknown ones included",
        arguments: [
            // An event type nobody knows yet.
            [
                EventStreamHeader(name: ":event-type", value: .string("brandNewEvent")),
                EventStreamHeader(name: ":message-type", value: .string("event")),
            ],
            // An unknown header name next to the usual ones.
            [
                EventStreamHeader(name: ":event-type", value: .string("assistantResponseEvent")),
                EventStreamHeader(name: "x-amzn-request-id", value: .string("b7c1")),
                EventStreamHeader(name: ":message-type", value: .string("event")),
            ],
            // A known name with a value of another type.
            [EventStreamHeader(name: ":message-type", value: .integer(7))],
            // A known name and value, then a non-string header.
            [
                EventStreamHeader(name: ":message-type", value: .string("event")),
                EventStreamHeader(name: "flag", value: .bool(true)),
            ],
            // An error frame: the message is free text.
            [
                EventStreamHeader(name: ":message-type", value: .string("error")),
                EventStreamHeader(name: ":error-code", value: .string("InternalFailure")),
                EventStreamHeader(name: ":error-message", value: .string("Something broke")),
            ],
            // More interned headers than the compact form holds.
            Array(
                repeating: EventStreamHeader(name: ":content-type", value: .string("application/json")),
                count: InternedHeaders.capacity + 1),
        ]
    )
    func listFallback(headers: [EventStreamHeader]) throws {
        let built = EventStreamMessage(headers: headers, payload: ByteBuffer(string: "{}"))
        let decoded = try self.decode(built)
        #expect(!self.isInterned(decoded))
        #expect(decoded == built)
        #expect(decoded.headers == headers)
        for header in headers {
            #expect(decoded.header(header.name) == headers.first { $0.name == header.name }?.value)
        }
    }

    @Test("an unknown header is still readable, and the known ones beside it read as usual")
    func unknownHeaderReadable() throws {
        let decoded = try self.decode(
            EventStreamMessage(
                headers: [
                    EventStreamHeader(name: ":event-type", value: .string("assistantResponseEvent")),
                    EventStreamHeader(name: "x-amzn-request-id", value: .string("b7c1")),
                    EventStreamHeader(name: ":message-type", value: .string("event")),
                ],
                payload: ByteBuffer()
            )
        )
        #expect(decoded.stringHeader("x-amzn-request-id") == "b7c1")
        #expect(decoded.eventType == "assistantResponseEvent")
        #expect(decoded.messageType == "event")
    }

    @Test("a repeated header name reads as its first occurrence in the interned form too")
    func firstMatchWins() throws {
        let decoded = try self.decode(
            EventStreamMessage(
                headers: [
                    EventStreamHeader(name: ":event-type", value: .string("toolUseEvent")),
                    EventStreamHeader(name: ":event-type", value: .string("assistantResponseEvent")),
                ],
                payload: ByteBuffer()
            )
        )
        #expect(self.isInterned(decoded))
        #expect(decoded.eventType == "toolUseEvent")
        #expect(decoded.header(":event-type") == .string("toolUseEvent"))
        #expect(decoded.headers.count == 2)
    }

    @Test("interned and non-interned strings with the same text are equal, in either order of comparison")
    func internedEqualsBuilt() throws {
        let decoded = try self.decode(.event("messageMetadataEvent", payload: "{}"))
        // A string built at run time, not the literal the decoder hands out.
        let name = String(decoding: Array("messageMetadataEvent".utf8), as: UTF8.self)
        let built = EventStreamMessage.event(name, payload: "{}")
        #expect(decoded.eventType == name)
        #expect(decoded == built)
        #expect(built == decoded)
    }

    @Test("messages that differ in a header, its order or the payload are not equal")
    func inequality() throws {
        let text = try self.decode(.event("assistantResponseEvent", payload: "{}"))
        let tool = try self.decode(.event("toolUseEvent", payload: "{}"))
        #expect(text != tool)
        #expect(text != .event("toolUseEvent", payload: "{}"))
        #expect(text != (try self.decode(.event("assistantResponseEvent", payload: "[]"))))
        var reordered = text.headers
        reordered.swapAt(0, 1)
        let swapped = try self.decode(EventStreamMessage(headers: reordered, payload: ByteBuffer(string: "{}")))
        #expect(self.isInterned(swapped))
        #expect(text != swapped)
        #expect(text != EventStreamMessage(headers: Array(text.headers.prefix(2)), payload: ByteBuffer(string: "{}")))
    }

    @Test("setting or changing the headers of a decoded message replaces the interned form")
    func mutation() throws {
        var message = try self.decode(.event("assistantResponseEvent", payload: "{}"))
        message.headers.append(EventStreamHeader(name: "x-extra", value: .string("1")))
        #expect(!self.isInterned(message))
        #expect(message.headers.count == 4)
        #expect(message.eventType == "assistantResponseEvent")
        #expect(message.stringHeader("x-extra") == "1")
        message.headers = [EventStreamHeader(name: ":event-type", value: .string("toolUseEvent"))]
        #expect(message.eventType == "toolUseEvent")
        #expect(message.messageType == nil)
    }

    @Test("a headers section that starts with interned headers and then goes wrong is still rejected the same way")
    func malformedAfterInterned() throws {
        let good = Array(try EventStreamEncoder.encode(.event("assistantResponseEvent", payload: "")).readableBytesView)
        let headers = Array(good[12..<(good.count - 4)])
        for tail: [UInt8] in [[1], [1, 0x61], [1, 0x61, 7, 0, 9, 0x62], [0, 7, 0, 0]] {
            var decoder = EventStreamDecoder()
            var buffer = ByteBuffer(bytes: rawFrame(headers: headers + tail, payload: Array("{}".utf8)))
            #expect(throws: EventStreamError.invalidHeader) { try decoder.decode(buffer: &buffer) }
        }
        // The interned string's bytes cut short: the value length points past the section.
        var decoder = EventStreamDecoder()
        var buffer = ByteBuffer(bytes: rawFrame(headers: Array(headers.dropLast(2))))
        #expect(throws: EventStreamError.invalidHeader) { try decoder.decode(buffer: &buffer) }
    }
}
