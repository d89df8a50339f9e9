/// One `[[sim:NAME]]` or `[[sim:NAME:ARG]]` marker in a message, which scripts the simulator's reply.
///
/// Tests put directives in the prompt they send through the proxy, so that every behaviour of the real
/// service (a tool call, an exception mid-stream, a throttle) can be triggered end to end without any
/// side channel:
///
/// ```swift
/// Directive.scan("Please [[sim:tool:get_weather:{\"city\":\"Paris\"}]] and [[sim:usage]]")
/// // [Directive(name: "tool", argument: "get_weather:{\"city\":\"Paris\"}"), Directive(name: "usage", argument: nil)]
/// ```
struct Directive: Sendable, Equatable {
    var name: String
    /// Everything after the first `:` following the name, verbatim; `nil` when there is no `:`.
    var argument: String?

    init(name: String, argument: String? = nil) {
        self.name = name
        self.argument = argument
    }

    private static let opener = Array("[[sim:".utf8)

    /// Every directive in `text`, in order of appearance.
    ///
    /// A directive ends at the first `]]` outside braces, so a JSON argument such as
    /// `{"a":[[1]]}` is kept whole. If the braces never balance, the first `]]` ends it instead.
    static func scan(_ text: String) -> [Directive] {
        let bytes = Array(text.utf8)
        var directives: [Directive] = []
        var index = 0
        while let start = Self.find(Self.opener, in: bytes, from: index) {
            let bodyStart = start + Self.opener.count
            guard let end = Self.end(of: bytes, from: bodyStart) else { break }
            let body = String(decoding: bytes[bodyStart..<end], as: UTF8.self)
            if let colon = body.firstIndex(of: ":") {
                directives.append(Directive(name: String(body[..<colon]), argument: String(body[body.index(after: colon)...])))
            } else {
                directives.append(Directive(name: body))
            }
            index = end + 2
        }
        return directives
    }

    /// The index of the `]]` that closes a directive whose body starts at `start`.
    private static func end(of bytes: [UInt8], from start: Int) -> Int? {
        let firstCloser = Self.find(Array("]]".utf8), in: bytes, from: start)
        var closers: [UInt8] = []  // The brackets still open inside a JSON argument.
        var inString = false
        var escaped = false
        var index = start
        while index < bytes.count {
            let byte = bytes[index]
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
            } else if let expected = closers.last {
                switch byte {
                case UInt8(ascii: "{"): closers.append(UInt8(ascii: "}"))
                case UInt8(ascii: "["): closers.append(UInt8(ascii: "]"))
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    // A mismatched closer means this is prose, not JSON.
                    guard byte == expected else { return firstCloser }
                    closers.removeLast()
                case UInt8(ascii: "\""): inString = true
                default: break
                }
            } else if byte == UInt8(ascii: "]"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "]") {
                return index
            } else if byte == UInt8(ascii: "{") {
                closers.append(UInt8(ascii: "}"))
            }
            index += 1
        }
        // Unbalanced braces (plain text such as "a { b"): fall back to the first closer.
        return firstCloser
    }

    private static func find(_ needle: [UInt8], in bytes: [UInt8], from start: Int) -> Int? {
        guard needle.count <= bytes.count, start <= bytes.count - needle.count else { return nil }
        var index = start
        while index <= bytes.count - needle.count {
            if bytes[index] == needle[0], bytes[index..<(index + needle.count)].elementsEqual(needle) {
                return index
            }
            index += 1
        }
        return nil
    }
}
