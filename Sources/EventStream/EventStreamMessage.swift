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
///
/// A decoded frame whose headers are all the strings Amazon Q repeats (`:event-type`, `:content-type`,
/// `:message-type` and their usual values) keeps them in a compact form that costs no allocation; the accessors
/// below read it directly, and ``headers`` builds the array only when it is asked for. Any other frame keeps the
/// array. Either way a message compares equal to one built with ``init(headers:payload:)`` from the same headers.
package struct EventStreamMessage: Sendable, Equatable {
    /// How the headers are held.
    enum HeaderStorage: Sendable, Equatable {
        /// As decoded from a frame whose headers were all interned strings.
        case interned(InternedHeaders)
        /// Any headers: given to ``EventStreamMessage/init(headers:payload:)``, set, or decoded from another frame.
        case list([EventStreamHeader])
    }

    /// The headers, in whichever form they came.
    private(set) var headerStorage: HeaderStorage

    /// The payload bytes; only the readable bytes are part of the message.
    package var payload: ByteBuffer

    package init(headers: [EventStreamHeader], payload: ByteBuffer) {
        self.headerStorage = .list(headers)
        self.payload = payload
    }

    /// A decoded message; `headers` is what the decoder made of the headers section.
    init(headerStorage: HeaderStorage, payload: ByteBuffer) {
        self.headerStorage = headerStorage
        self.payload = payload
    }

    /// The headers in the order they appear on the wire.
    ///
    /// For a decoded Amazon Q frame this builds the array on every read; use the accessors below for the
    /// well-known headers.
    package var headers: [EventStreamHeader] {
        get {
            switch self.headerStorage {
            case .interned(let interned): interned.headers
            case .list(let headers): headers
            }
        }
        set {
            self.headerStorage = .list(newValue)
        }
    }

    /// The value of the first header called `name`, if any.
    ///
    /// The spec forbids repeated names; taking the first one keeps a malformed frame from being read
    /// differently by different callers.
    package func header(_ name: String) -> EventStreamHeaderValue? {
        switch self.headerStorage {
        case .interned(let interned): interned.string(named: name).map { .string($0) }
        case .list(let headers): headers.first { $0.name == name }?.value
        }
    }

    /// The value of the first header called `name` if it is a string header, otherwise `nil`.
    package func stringHeader(_ name: String) -> String? {
        guard case .string(let value) = self.header(name) else { return nil }
        return value
    }

    /// The first header called `name` if it is a string header: read from the interned form without comparing
    /// strings, otherwise as ``stringHeader(_:)``.
    private func stringHeader(_ name: InternedString) -> String? {
        switch self.headerStorage {
        case .interned(let interned): interned.string(named: name)
        case .list: self.stringHeader(name.string)
        }
    }

    /// `:message-type`: `event`, `exception` (a modelled error) or `error` (an unmodelled error).
    package var messageType: String? { self.stringHeader(.messageTypeName) }

    /// `:event-type`, the event name on `event` frames, such as `assistantResponseEvent`.
    package var eventType: String? { self.stringHeader(.eventTypeName) }

    /// `:exception-type`, the error name on `exception` frames, such as `ThrottlingException`.
    package var exceptionType: String? { self.stringHeader(.exceptionTypeName) }

    /// `:error-code` on `error` frames.
    package var errorCode: String? { self.stringHeader(.errorCodeName) }

    /// `:error-message` on `error` frames, whose payload is usually empty.
    package var errorMessage: String? { self.stringHeader(.errorMessageName) }

    /// Equal payloads and equal headers, however each message holds them.
    package static func == (lhs: Self, rhs: Self) -> Bool {
        guard lhs.payload == rhs.payload else { return false }
        switch (lhs.headerStorage, rhs.headerStorage) {
        // Distinct interned strings are distinct ASCII texts, so equal pairs are exactly equal headers.
        case (.interned(let left), .interned(let right)): return left == right
        case (.list(let left), .list(let right)): return left == right
        default: return lhs.headers == rhs.headers
        }
    }
}
