import EventStream
import NIOCore
import ProxyModels

/// Encodes the frames of a reply stream exactly as the service sends them: three string headers in the
/// order of the samples (`:event-type` or `:exception-type`, `:content-type`, `:message-type`) and a
/// compact JSON payload (AMAZON_Q.md §4.3, samples/README.md).
enum EventFrame {
    /// An event frame such as `assistantResponseEvent`.
    static func event(_ eventType: String, _ payload: JSONValue) throws -> ByteBuffer {
        try EventStreamEncoder.encode(
            EventStreamMessage(
                headers: [
                    EventStreamHeader(name: ":event-type", value: .string(eventType)),
                    EventStreamHeader(name: ":content-type", value: .string("application/json")),
                    EventStreamHeader(name: ":message-type", value: .string("event")),
                ],
                payload: ByteBuffer(bytes: payload.jsonBytes)
            )
        )
    }

    /// A modelled error frame, which ends a reply part-way (AMAZON_Q.md §5.4).
    static func exception(_ exceptionType: String, _ payload: JSONValue) throws -> ByteBuffer {
        try EventStreamEncoder.encode(
            EventStreamMessage(
                headers: [
                    EventStreamHeader(name: ":exception-type", value: .string(exceptionType)),
                    EventStreamHeader(name: ":content-type", value: .string("application/json")),
                    EventStreamHeader(name: ":message-type", value: .string("exception")),
                ],
                payload: ByteBuffer(bytes: payload.jsonBytes)
            )
        )
    }

    /// A text delta.
    static func text(_ content: String) throws -> ByteBuffer {
        try Self.event("assistantResponseEvent", ["content": .string(content)])
    }

    /// `frame` with its message CRC damaged, so that a decoder which checks CRCs must reject it.
    static func corrupted(_ frame: ByteBuffer) -> ByteBuffer {
        var frame = frame
        let last = frame.writerIndex - 1
        if let byte = frame.getInteger(at: last, as: UInt8.self) {
            frame.setInteger(byte ^ 0xFF, at: last)
        }
        return frame
    }
}
