import EventStream
import NIOCore
import Testing

@Suite("Reading message headers")
struct EventStreamMessageTests {
    @Test("the well-known headers are read by name")
    func conveniences() {
        let message = EventStreamMessage(
            headers: [
                .init(name: ":message-type", value: .string("error")),
                .init(name: ":error-code", value: .string("InternalFailure")),
                .init(name: ":error-message", value: .string("Something broke")),
            ],
            payload: ByteBuffer()
        )
        #expect(message.messageType == "error")
        #expect(message.errorCode == "InternalFailure")
        #expect(message.errorMessage == "Something broke")
        #expect(message.eventType == nil)
        #expect(message.exceptionType == nil)
    }

    @Test("a repeated header name reads as its first occurrence")
    func firstMatchWins() {
        let message = EventStreamMessage(
            headers: [
                .init(name: ":event-type", value: .string("first")),
                .init(name: ":event-type", value: .string("second")),
            ],
            payload: ByteBuffer()
        )
        #expect(message.eventType == "first")
        #expect(message.header(":event-type") == .string("first"))
    }

    @Test("a header of another type is not mistaken for a string")
    func nonStringHeader() {
        let message = EventStreamMessage(
            headers: [.init(name: ":message-type", value: .integer(7))], payload: ByteBuffer())
        #expect(message.header(":message-type") == .integer(7))
        #expect(message.stringHeader(":message-type") == nil)
        #expect(message.messageType == nil)
        #expect(message.header("missing") == nil)
    }
}

@Suite("Error reporting")
struct EventStreamErrorTests {
    @Test("a checksum error names both CRCs, and still equals its kind")
    func checksumDetails() throws {
        var bytes = WorkedExampleTests.helloFrame
        bytes[bytes.count - 1] ^= 0x01
        var decoder = EventStreamDecoder()
        var buffer = ByteBuffer(bytes: bytes)
        do {
            _ = try decoder.decode(buffer: &buffer)
            Issue.record("expected an error")
        } catch let error as EventStreamError {
            #expect(error == .messageChecksumMismatch)
            #expect(error != .preludeChecksumMismatch)
            #expect(
                error.description == "event-stream message checksum mismatch: expected 0x9b5d0634, computed 0x9b5d0635")
            #expect(error.shortDescription == "message_crc")
        }
    }

    @Test("error messages never quote header or payload bytes from the input")
    func noInputInDescription() throws {
        let headers: [UInt8] = [6] + Array("secret".utf8) + [7, 0, 4] + [0xFF, 0x73, 0x65, 0x63]
        var decoder = EventStreamDecoder()
        var buffer = ByteBuffer(bytes: rawFrame(headers: headers, payload: Array("secret".utf8)))
        do {
            _ = try decoder.decode(buffer: &buffer)
            Issue.record("expected an error")
        } catch let error as EventStreamError {
            #expect(error == .invalidHeader)
            #expect(!error.description.contains("secret"))
            #expect(error.description.contains("frame offset 19"), "\(error.description)")
        }
    }

    @Test(
        "short descriptions are fixed labels suitable for metrics",
        arguments: [
            (EventStreamError.preludeChecksumMismatch, "prelude_crc"),
            (.messageChecksumMismatch, "message_crc"),
            (.messageTooLarge, "too_large"),
            (.invalidLength, "invalid_length"),
            (.invalidHeader, "invalid_header"),
            (.truncated, "truncated"),
        ]
    )
    func shortDescriptions(error: EventStreamError, label: String) {
        #expect(error.shortDescription == label)
        #expect(error.description.hasPrefix("event-stream "))
    }
}
