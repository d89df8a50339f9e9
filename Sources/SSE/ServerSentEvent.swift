/// Server-sent-event framing (`event:` / `data:` lines) into a byte array.
///
/// Plain bytes rather than a `ByteBuffer`, so that the dialects' stream encoders (pure code, no NIO) write their
/// frames straight into the bytes the server sends. Payloads here are single-line JSON, but a `data` value with line
/// breaks is still split into several `data:` lines, as the SSE grammar requires: at LF, CRLF and a lone CR, each of
/// which a client reads as the end of a line.
///
/// Concrete byte types only (no generic collection): this module is compiled apart from its callers, and a generic
/// loop over bytes would run unspecialised, through witness tables, byte by byte.
package enum ServerSentEvent {
    /// Appends `event: <name>\ndata: <data>\n\n` (no `event:` line when `name` is nil).
    package static func write(event name: String?, data: [UInt8], into bytes: inout [UInt8]) {
        if let name { writeEventLine(name, into: &bytes) }
        writeData(data, into: &bytes)
    }

    /// Appends `event: <name>\n`, the first line of a named event; `writeData` ends it.
    package static func writeEventLine(_ name: String, into bytes: inout [UInt8]) {
        bytes.append(contentsOf: eventPrefix)
        bytes.append(contentsOf: name.utf8)
        bytes.append(lineFeed)
    }

    /// Appends the `data:` lines of `data` and the blank line that ends the event.
    package static func writeData(_ data: [UInt8], into bytes: inout [UInt8]) {
        data.withUnsafeBufferPointer { data in
            bytes.append(contentsOf: dataPrefix)
            var lineStart = 0
            var index = 0
            while index < data.count {
                let byte = data[index]
                if byte == lineFeed || byte == carriageReturn {
                    bytes.append(contentsOf: UnsafeBufferPointer(rebasing: data[lineStart..<index]))
                    bytes.append(lineFeed)
                    bytes.append(contentsOf: dataPrefix)
                    // A CRLF is one line break.
                    if byte == carriageReturn, index + 1 < data.count, data[index + 1] == lineFeed { index += 1 }
                    lineStart = index + 1
                }
                index += 1
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: data[lineStart...]))
            bytes.append(lineFeed)
            bytes.append(lineFeed)
        }
    }

    /// The OpenAI stream terminator.
    package static func writeDone(into bytes: inout [UInt8]) {
        bytes.append(contentsOf: done)
    }

    /// A comment line: ignored by SSE clients, keeps idle proxies from closing the connection.
    package static func writeComment(_ text: String, into bytes: inout [UInt8]) {
        bytes.append(contentsOf: commentPrefix)
        bytes.append(contentsOf: text.utf8)
        bytes.append(lineFeed)
        bytes.append(lineFeed)
    }

    private static let lineFeed = UInt8(ascii: "\n")
    private static let carriageReturn = UInt8(ascii: "\r")
    private static let eventPrefix: [UInt8] = Array("event: ".utf8)
    private static let dataPrefix: [UInt8] = Array("data: ".utf8)
    private static let commentPrefix: [UInt8] = Array(": ".utf8)
    private static let done: [UInt8] = Array("data: [DONE]\n\n".utf8)
}
