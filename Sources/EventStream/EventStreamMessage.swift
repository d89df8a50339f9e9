import NIOCore

/// One decoded AWS event-stream frame: its headers in wire order and its payload.
///
/// For Amazon Q every payload is one complete UTF-8 JSON document, so it can be parsed as it is.
/// The payload is a slice of the buffer the frame was decoded from; it shares that storage instead of
/// copying it.
///
/// ```swift
/// if message.messageType == "event", message.eventType == "assistantResponseEvent" {
///     let json = message.payload.getString(at: message.payload.readerIndex, length: message.payload.readableBytes)
/// }
/// ```
package struct EventStreamMessage: Sendable, Equatable {
    /// The headers in the order they appear on the wire.
    package var headers: [EventStreamHeader]
    /// The payload bytes; only the readable bytes are part of the message.
    package var payload: ByteBuffer

    package init(headers: [EventStreamHeader], payload: ByteBuffer) {
        self.headers = headers
        self.payload = payload
    }

    /// The value of the first header called `name`, if any.
    ///
    /// The spec forbids repeated names; taking the first one keeps a malformed frame from being read
    /// differently by different callers.
    package func header(_ name: String) -> EventStreamHeaderValue? {
        self.headers.first { $0.name == name }?.value
    }

    /// The value of the first header called `name` if it is a string header, otherwise `nil`.
    package func stringHeader(_ name: String) -> String? {
        guard case .string(let value) = self.header(name) else { return nil }
        return value
    }

    /// `:message-type`: `event`, `exception` (a modelled error) or `error` (an unmodelled error).
    package var messageType: String? { self.stringHeader(":message-type") }

    /// `:event-type`, the event name on `event` frames, such as `assistantResponseEvent`.
    package var eventType: String? { self.stringHeader(":event-type") }

    /// `:exception-type`, the error name on `exception` frames, such as `ThrottlingException`.
    package var exceptionType: String? { self.stringHeader(":exception-type") }

    /// `:error-code` on `error` frames.
    package var errorCode: String? { self.stringHeader(":error-code") }

    /// `:error-message` on `error` frames, whose payload is usually empty.
    package var errorMessage: String? { self.stringHeader(":error-message") }
}
