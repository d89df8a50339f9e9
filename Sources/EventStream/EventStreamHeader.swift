/// One named header of an event-stream frame.
///
/// Headers are kept as an ordered list rather than a dictionary: the wire order is preserved so that
/// re-encoding a decoded frame reproduces its bytes exactly.
///
/// ```swift
/// let header = EventStreamHeader(name: ":event-type", value: .string("assistantResponseEvent"))
/// ```
package struct EventStreamHeader: Sendable, Equatable {
    /// The header name, 1 to 255 UTF-8 bytes on the wire.
    package var name: String
    package var value: EventStreamHeaderValue

    package init(name: String, value: EventStreamHeaderValue) {
        self.name = name
        self.value = value
    }
}
