import NIOCore

/// Server-sent-event framing (`event:` / `data:` lines) into a `ByteBuffer`.
///
/// Payloads here are single-line JSON, but a `data` value with newlines is still split into
/// several `data:` lines, as the SSE grammar requires.
package enum ServerSentEvent {
    /// Appends `event: <name>\ndata: <data>\n\n` (no `event:` line when `name` is nil).
    package static func write(event name: String?, data: [UInt8], into buffer: inout ByteBuffer) {
        if let name {
            buffer.writeStaticString("event: ")
            buffer.writeString(name)
            buffer.writeStaticString("\n")
        }
        if data.contains(UInt8(ascii: "\n")) {
            for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
                buffer.writeStaticString("data: ")
                buffer.writeBytes(line)
                buffer.writeStaticString("\n")
            }
        } else {
            buffer.writeStaticString("data: ")
            buffer.writeBytes(data)
            buffer.writeStaticString("\n")
        }
        buffer.writeStaticString("\n")
    }

    /// The OpenAI stream terminator.
    package static func writeDone(into buffer: inout ByteBuffer) {
        buffer.writeStaticString("data: [DONE]\n\n")
    }

    /// A comment line: ignored by SSE clients, keeps idle proxies from closing the connection.
    package static func writeComment(_ text: String, into buffer: inout ByteBuffer) {
        buffer.writeStaticString(": ")
        buffer.writeString(text)
        buffer.writeStaticString("\n\n")
    }
}
