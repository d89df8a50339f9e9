/// Serialises `JSONValue` compactly, members in order, non-ASCII written raw as UTF-8.
///
/// Output is deterministic, so golden files and the upstream payload are byte-stable.
package enum JSONWriter {
    package static func write(_ value: JSONValue, into output: inout [UInt8]) {
        switch value {
        case .null: output.append(contentsOf: "null".utf8)
        case .bool(let flag): output.append(contentsOf: (flag ? "true" : "false").utf8)
        case .number(let literal): output.append(contentsOf: literal.utf8)
        case .string(let string): writeString(string, into: &output)
        case .array(let items):
            output.append(UInt8(ascii: "["))
            for (position, item) in items.enumerated() {
                if position > 0 { output.append(UInt8(ascii: ",")) }
                write(item, into: &output)
            }
            output.append(UInt8(ascii: "]"))
        case .object(let members):
            output.append(UInt8(ascii: "{"))
            for (position, member) in members.enumerated() {
                if position > 0 { output.append(UInt8(ascii: ",")) }
                writeString(member.key, into: &output)
                output.append(UInt8(ascii: ":"))
                write(member.value, into: &output)
            }
            output.append(UInt8(ascii: "}"))
        }
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    package static func writeString(_ string: String, into output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        writeStringContents(string, into: &output)
        output.append(UInt8(ascii: "\""))
    }

    /// The escaped characters of a JSON string, without its quotes: what goes between them.
    package static func writeStringContents(_ string: String, into output: inout [UInt8]) {
        var string = string
        string.withUTF8 { bytes in
            var runStart = 0
            for i in 0..<bytes.count {
                let byte = bytes[i]
                guard byte < 0x20 || byte == 0x22 || byte == 0x5C else { continue }
                if runStart < i { output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<i])) }
                runStart = i + 1
                switch byte {
                case 0x22: output.append(contentsOf: [0x5C, 0x22])
                case 0x5C: output.append(contentsOf: [0x5C, 0x5C])
                case 0x0A: output.append(contentsOf: [0x5C, UInt8(ascii: "n")])
                case 0x0D: output.append(contentsOf: [0x5C, UInt8(ascii: "r")])
                case 0x09: output.append(contentsOf: [0x5C, UInt8(ascii: "t")])
                case 0x08: output.append(contentsOf: [0x5C, UInt8(ascii: "b")])
                case 0x0C: output.append(contentsOf: [0x5C, UInt8(ascii: "f")])
                default:
                    output.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30])
                    output.append(hexDigits[Int(byte >> 4)])
                    output.append(hexDigits[Int(byte & 0xF)])
                }
            }
            if runStart < bytes.count { output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart...])) }
        }
    }
}

extension JSONValue {
    /// Compact serialisation as bytes.
    package var jsonBytes: [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(64)
        JSONWriter.write(self, into: &output)
        return output
    }

    /// Compact serialisation as a string.
    package var jsonString: String { String(decoding: jsonBytes, as: UTF8.self) }

    /// Serialisation with sorted keys, used to compare tool inputs for equality regardless of member order.
    package var canonicalString: String { sortedKeys().jsonString }

    package func sortedKeys() -> JSONValue {
        switch self {
        case .array(let items): .array(items.map { $0.sortedKeys() })
        case .object(let members):
            .object(members.sorted { $0.key < $1.key }.map { JSONMember($0.key, $0.value.sortedKeys()) })
        default: self
        }
    }
}

extension JSONValue {
    /// Indented serialisation for people (`q2api explain`, golden files).
    package var prettyString: String {
        var output: [UInt8] = []
        JSONValue.writePretty(self, indent: 0, into: &output)
        return String(decoding: output, as: UTF8.self)
    }

    private static func writePretty(_ value: JSONValue, indent: Int, into output: inout [UInt8]) {
        let pad = { (level: Int) in [UInt8](repeating: UInt8(ascii: " "), count: level * 2) }
        switch value {
        case .array(let items) where !items.isEmpty:
            output.append(contentsOf: "[\n".utf8)
            for (position, item) in items.enumerated() {
                output.append(contentsOf: pad(indent + 1))
                writePretty(item, indent: indent + 1, into: &output)
                output.append(contentsOf: (position < items.count - 1 ? ",\n" : "\n").utf8)
            }
            output.append(contentsOf: pad(indent))
            output.append(UInt8(ascii: "]"))
        case .object(let members) where !members.isEmpty:
            output.append(contentsOf: "{\n".utf8)
            for (position, member) in members.enumerated() {
                output.append(contentsOf: pad(indent + 1))
                JSONWriter.writeString(member.key, into: &output)
                output.append(contentsOf: ": ".utf8)
                writePretty(member.value, indent: indent + 1, into: &output)
                output.append(contentsOf: (position < members.count - 1 ? ",\n" : "\n").utf8)
            }
            output.append(contentsOf: pad(indent))
            output.append(UInt8(ascii: "}"))
        default:
            JSONWriter.write(value, into: &output)
        }
    }
}
