import SSE
import Testing

/// The bytes `body` appends to an empty buffer, as text (every case here is valid UTF-8).
private func written(_ body: (inout [UInt8]) -> Void) -> String {
    var bytes: [UInt8] = []
    body(&bytes)
    return String(decoding: bytes, as: UTF8.self)
}

@Suite("Server-sent-event framing: the exact bytes")
struct ServerSentEventFramingTests {
    @Test("an event with a name is an event: line, a data: line and a blank line")
    func namedEvent() {
        let bytes = written { ServerSentEvent.write(event: "message_start", data: Array(#"{"type":"message_start"}"#.utf8), into: &$0) }
        #expect(bytes == "event: message_start\ndata: {\"type\":\"message_start\"}\n\n")
    }

    @Test("without a name there is no event: line")
    func unnamedEvent() {
        let bytes = written { ServerSentEvent.write(event: nil, data: Array(#"{"id":1}"#.utf8), into: &$0) }
        #expect(bytes == "data: {\"id\":1}\n\n")
    }

    @Test("empty data is still one data: line, so the client dispatches an event with empty data")
    func emptyData() {
        #expect(written { ServerSentEvent.write(event: nil, data: [], into: &$0) } == "data: \n\n")
        #expect(written { ServerSentEvent.write(event: "ping", data: [], into: &$0) } == "event: ping\ndata: \n\n")
    }

    @Test("an empty event name is written as it is")
    func emptyName() {
        #expect(written { ServerSentEvent.write(event: "", data: Array("x".utf8), into: &$0) } == "event: \ndata: x\n\n")
    }

    @Test(
        "each line of multi-line data becomes its own data: line, empty lines included",
        arguments: [
            ("a\nb", "data: a\ndata: b\n\n"),
            ("a\nb\nc", "data: a\ndata: b\ndata: c\n\n"),
            ("\n", "data: \ndata: \n\n"),
            ("a\n", "data: a\ndata: \n\n"),
            ("\na", "data: \ndata: a\n\n"),
            ("a\n\nb", "data: a\ndata: \ndata: b\n\n"),
            ("\n\n", "data: \ndata: \ndata: \n\n"),
        ]
    )
    func multiLineData(data: String, expected: String) {
        #expect(written { ServerSentEvent.write(event: nil, data: Array(data.utf8), into: &$0) } == expected)
        #expect(written { ServerSentEvent.write(event: "e", data: Array(data.utf8), into: &$0) } == "event: e\n" + expected)
    }

    @Test("CRLF in data is one line break: one new data: line, no CR written")
    func crlfData() {
        let bytes = written { ServerSentEvent.write(event: nil, data: Array("a\r\nb".utf8), into: &$0) }
        #expect(bytes == "data: a\ndata: b\n\n")
        #expect(SSEClientParser.events(in: bytes) == [.init(name: nil, data: "a\nb")])
        #expect(written { ServerSentEvent.write(event: nil, data: Array("a\r\n".utf8), into: &$0) } == "data: a\ndata: \n\n")
    }

    @Test("a lone CR in data is a line break, as a client reads it: nothing after it is lost")
    func loneCarriageReturn() {
        let bytes = written { ServerSentEvent.write(event: nil, data: Array("a\rb".utf8), into: &$0) }
        #expect(bytes == "data: a\ndata: b\n\n")
        // The SSE grammar ends a line at CR too; written raw, the `b` would be read as a field of its own and lost.
        #expect(SSEClientParser.events(in: bytes) == [.init(name: nil, data: "a\nb")])
        #expect(written { ServerSentEvent.write(event: nil, data: Array("\r\r\n".utf8), into: &$0) } == "data: \ndata: \ndata: \n\n")
    }

    @Test("the data bytes are copied as they are: UTF-8, colons, leading spaces")
    func dataBytesUntouched() {
        #expect(written { ServerSentEvent.write(event: nil, data: Array("你好 🙂".utf8), into: &$0) } == "data: 你好 🙂\n\n")
        #expect(written { ServerSentEvent.write(event: nil, data: Array("a: b".utf8), into: &$0) } == "data: a: b\n\n")
        // "data: " always has its one space, so a client strips that one and keeps the data's own.
        #expect(written { ServerSentEvent.write(event: nil, data: Array("  x".utf8), into: &$0) } == "data:   x\n\n")
        let raw: [UInt8] = [0x00, 0x7F, 0xC3, 0xA9]
        var bytes: [UInt8] = []
        ServerSentEvent.write(event: nil, data: raw, into: &bytes)
        #expect(bytes == Array("data: ".utf8) + raw + [0x0A, 0x0A])
    }

    @Test("[DONE] is the OpenAI terminator: one data line and a blank line")
    func done() {
        #expect(written { ServerSentEvent.writeDone(into: &$0) } == "data: [DONE]\n\n")
    }

    @Test("a comment is a colon line and a blank line", arguments: [("ping", ": ping\n\n"), ("", ": \n\n"), ("keep-alive 🙂", ": keep-alive 🙂\n\n")])
    func comment(text: String, expected: String) {
        #expect(written { ServerSentEvent.writeComment(text, into: &$0) } == expected)
    }

    @Test("writes append after what the bytes hold")
    func appends() {
        var bytes = Array("prefix|".utf8)
        ServerSentEvent.write(event: "a", data: Array("1".utf8), into: &bytes)
        ServerSentEvent.writeComment("k", into: &bytes)
        ServerSentEvent.write(event: nil, data: Array("2\n3".utf8), into: &bytes)
        ServerSentEvent.writeDone(into: &bytes)
        #expect(String(decoding: bytes, as: UTF8.self) == "prefix|event: a\ndata: 1\n\n: k\n\ndata: 2\ndata: 3\n\ndata: [DONE]\n\n")
    }
}

@Suite("Server-sent-event framing: what a client reads back")
struct ServerSentEventClientViewTests {
    @Test(
        "a spec-following client gets back each event's name and data, whatever LFs the data holds",
        arguments: [
            (String?.none, ""),
            ("message_delta", #"{"type":"message_delta","delta":{"stop_reason":"end_turn"}}"#),
            (nil, "line one\nline two"),
            ("e", "\n\nmiddle\n\n"),
            ("e", " leading and trailing spaces "),
            (nil, "data: looks like a field"),
            (nil, ": looks like a comment"),
            ("unicode", "你好\n🙂"),
        ]
    )
    func roundTrip(name: String?, data: String) {
        let bytes = written { ServerSentEvent.write(event: name, data: Array(data.utf8), into: &$0) }
        #expect(SSEClientParser.events(in: bytes) == [.init(name: name, data: data)])
    }

    @Test("comments and the terminator between events: the client sees the events and [DONE] only")
    func stream() {
        let bytes = written { buffer in
            ServerSentEvent.writeComment("ping", into: &buffer)
            ServerSentEvent.write(event: "a", data: Array("1".utf8), into: &buffer)
            ServerSentEvent.writeComment("ping", into: &buffer)
            ServerSentEvent.write(event: nil, data: Array("2\n3".utf8), into: &buffer)
            ServerSentEvent.writeDone(into: &buffer)
        }
        #expect(
            SSEClientParser.events(in: bytes) == [
                .init(name: "a", data: "1"), .init(name: nil, data: "2\n3"), .init(name: nil, data: "[DONE]"),
            ])
    }

    @Test("a comment alone dispatches nothing")
    func commentOnly() {
        #expect(SSEClientParser.events(in: written { ServerSentEvent.writeComment("keep-alive", into: &$0) }).isEmpty)
    }
}

/// A client's reading of an event stream, after the WHATWG HTML standard (§9.2.6), reduced to `event` and `data`:
/// lines end at CRLF, LF or CR; a line starting with a colon is a comment; one space after a field's colon is
/// dropped; each `data` line adds its value and an LF to the data buffer; a blank line dispatches the event unless
/// the buffer is empty, without the buffer's last LF (so a lone `data:` line with an empty value is an event with
/// empty data).
private enum SSEClientParser {
    struct Event: Equatable, CustomStringConvertible {
        var name: String?
        var data: String
        var description: String { "(\(name ?? "nil"), \(data.debugDescription))" }
    }

    static func events(in text: String) -> [Event] {
        var events: [Event] = []
        var name: String?
        var data = ""
        for line in self.lines(text) {
            if line.isEmpty {
                if !data.isEmpty {
                    data.removeLast()
                    events.append(Event(name: name, data: data))
                }
                name = nil
                data = ""
                continue
            }
            if line.hasPrefix(":") { continue }
            let field: Substring
            var value: Substring
            if let colon = line.firstIndex(of: ":") {
                field = line[..<colon]
                value = line[line.index(after: colon)...]
                if value.hasPrefix(" ") { value = value.dropFirst() }
            } else {
                field = line[...]
                value = ""
            }
            switch field {
            case "event": name = String(value)
            case "data": data += value + "\n"
            default: continue
            }
        }
        return events
    }

    /// The lines of `text`, split at CRLF, LF or CR, without their terminators; an unterminated last line is dropped.
    private static func lines(_ text: String) -> [Substring] {
        var lines: [Substring] = []
        let scalars = text.unicodeScalars
        var start = scalars.startIndex
        var index = start
        while index < scalars.endIndex {
            let scalar = scalars[index]
            if scalar == "\n" || scalar == "\r" {
                lines.append(Substring(scalars[start..<index]))
                var next = scalars.index(after: index)
                if scalar == "\r", next < scalars.endIndex, scalars[next] == "\n" { next = scalars.index(after: next) }
                index = next
                start = next
            } else {
                index = scalars.index(after: index)
            }
        }
        return lines
    }
}
