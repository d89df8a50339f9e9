/// Server-sent-event framing (`event:` / `data:` lines) into a byte array.
///
/// Plain bytes rather than a `ByteBuffer`, so that the dialects' stream encoders (pure code, no NIO) write their
/// frames straight into the bytes the server sends. Payloads here are single-line JSON, but a `data` value with line
/// breaks is still split into several `data:` lines, as the SSE grammar requires: at LF, CRLF and a lone CR, each of
/// which a client reads as the end of a line.
package enum ServerSentEvent {
    /// Appends `event: <name>\ndata: <data>\n\n` (no `event:` line when `name` is nil).
    package static func write(event name: String?, data: some Collection<UInt8>, into bytes: inout [UInt8]) {
        if let name { writeEventLine(name, into: &bytes) }
        writeData(data, into: &bytes)
    }

    /// Appends `event: <name>\n`, the first line of a named event; `writeData` ends it.
    package static func writeEventLine(_ name: String, into bytes: inout [UInt8]) {
        bytes.append(contentsOf: "event: ".utf8)
        bytes.append(contentsOf: name.utf8)
        bytes.append(lineFeed)
    }

    /// Appends the `data:` lines of `data` and the blank line that ends the event.
    package static func writeData(_ data: some Collection<UInt8>, into bytes: inout [UInt8]) {
        bytes.append(contentsOf: "data: ".utf8)
        var afterCarriageReturn = false
        for byte in data {
            switch byte {
            case lineFeed where afterCarriageReturn:
                afterCarriageReturn = false  // the LF of a CRLF: the line ended at the CR
            case lineFeed, carriageReturn:
                bytes.append(lineFeed)
                bytes.append(contentsOf: "data: ".utf8)
                afterCarriageReturn = byte == carriageReturn
            default:
                bytes.append(byte)
                afterCarriageReturn = false
            }
        }
        bytes.append(lineFeed)
        bytes.append(lineFeed)
    }

    /// The OpenAI stream terminator.
    package static func writeDone(into bytes: inout [UInt8]) {
        bytes.append(contentsOf: "data: [DONE]\n\n".utf8)
    }

    /// A comment line: ignored by SSE clients, keeps idle proxies from closing the connection.
    package static func writeComment(_ text: String, into bytes: inout [UInt8]) {
        bytes.append(contentsOf: ": ".utf8)
        bytes.append(contentsOf: text.utf8)
        bytes.append(lineFeed)
        bytes.append(lineFeed)
    }

    private static let lineFeed = UInt8(ascii: "\n")
    private static let carriageReturn = UInt8(ascii: "\r")
}
