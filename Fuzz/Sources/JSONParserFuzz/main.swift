// libFuzzer entry point for the JSON parser (Sources/ProxyModels/JSON/JSONParser.swift). See Fuzz/README.md.
//
// The input is the JSON text itself, with no steering prefix, so any JSON file is a seed and any crash file can be
// read as it is. Each input is parsed twice: with the default nesting limit (256) and with a limit of 3, so that
// libFuzzer reaches the limit's edges with short inputs.
//
// Invariants checked on every input (a violation calls `fatalError`, which libFuzzer reports as a crash):
//
//   1. parsing never traps, and a refusal's position is inside the input (offset 0...count, line and column
//      consistent with the bytes before it);
//   2. the parser agrees with `Reference`, an independent RFC 8259 recogniser written below from the grammar: both
//      accept or both refuse, and when they accept they build exactly the same value (member order and duplicate
//      keys kept, number literals verbatim, strings compared as UTF-8 bytes, not as Swift `String`s, which compare
//      by canonical equivalence);
//   3. a value written by `JSONWriter` parses back to exactly the same value, and writing that again gives the same
//      bytes (write → parse → write is the identity); the same holds for `prettyString` and `canonicalString`;
//   4. parsing the input as a Swift `String` (when it is valid UTF-8) gives the same outcome as parsing its bytes;
//   5. the value accessors (`intValue`, `doubleValue`, subscripts, `removingNulls`, `hashValue`) never trap.
import ProxyModels

@_cdecl("LLVMFuzzerTestOneInput")
public func jsonParserFuzz(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let bytes: [UInt8] = start.map { Array(UnsafeRawBufferPointer(start: $0, count: count)) } ?? []
    for limit in [JSONParser.defaultMaximumDepth, 3] {
        check(bytes, maximumDepth: limit)
    }
    return 0
}

func check(_ bytes: [UInt8], maximumDepth: Int) {
    let parsed = parse(bytes, maximumDepth: maximumDepth)
    let reference = Reference.parse(bytes, maximumDepth: maximumDepth)
    switch (parsed, reference) {
    case (.success(let value), .accepted(let expected)):
        guard same(value, expected) else {
            fatalError(
                "depth \(maximumDepth): the parser built \(value.jsonString.debugDescription), the reference \(expected.jsonString.debugDescription)")
        }
        checkRoundTrips(value, maximumDepth: maximumDepth)
        touch(value)
    case (.failure(let error), .refused):
        checkPosition(error, in: bytes)
    case (.success(let value), .refused(let reason, let offset)):
        fatalError(
            "depth \(maximumDepth): the parser accepted \(value.jsonString.debugDescription); the reference refuses: \(reason) at byte \(offset)")
    case (.failure(let error), .accepted):
        fatalError("depth \(maximumDepth): the parser refused a valid document: \(error)")
    }
    if let text = String(validating: bytes, as: UTF8.self) {
        let fromString: Result<JSONValue, JSONParseError>
        do throws(JSONParseError) {
            fromString = .success(try JSONParser.parse(text, maximumDepth: maximumDepth))
        } catch {
            fromString = .failure(error)
        }
        switch (fromString, parsed) {
        case (.success(let a), .success(let b)) where same(a, b): break
        case (.failure(let a), .failure(let b)) where a == b: break
        default: fatalError("depth \(maximumDepth): parsing the input as a String differs from parsing its bytes")
        }
    }
}

func parse(_ bytes: [UInt8], maximumDepth: Int) -> Result<JSONValue, JSONParseError> {
    do throws(JSONParseError) {
        return .success(try JSONParser.parse(bytes, maximumDepth: maximumDepth))
    } catch {
        return .failure(error)
    }
}

/// The error points into the input, and its line and column are those of its offset.
func checkPosition(_ error: JSONParseError, in bytes: [UInt8]) {
    guard (0...bytes.count).contains(error.offset) else {
        fatalError("error offset \(error.offset) outside an input of \(bytes.count) bytes: \(error)")
    }
    let before = bytes[..<error.offset]
    let line = 1 + before.count { $0 == UInt8(ascii: "\n") }
    let lineStart = before.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? 0
    guard error.line == line, error.column == error.offset - lineStart + 1 else {
        fatalError(
            "error at offset \(error.offset) says line \(error.line), column \(error.column); expected \(line), \(error.offset - lineStart + 1)")
    }
    guard !error.message.isEmpty else { fatalError("an error without a message at offset \(error.offset)") }
}

/// write → parse → write is the identity, for the compact, pretty and canonical forms.
func checkRoundTrips(_ value: JSONValue, maximumDepth: Int) {
    let written = value.jsonBytes
    guard case .success(let again) = parse(written, maximumDepth: maximumDepth) else {
        fatalError("the written form does not parse: \(String(decoding: written, as: UTF8.self).debugDescription)")
    }
    guard same(again, value), again.jsonBytes == written else {
        fatalError("the written form parses to another value: \(String(decoding: written, as: UTF8.self).debugDescription)")
    }
    guard again == value, again.hashValue == value.hashValue else {
        fatalError("two identical values are unequal or hash differently")
    }
    guard case .success(let pretty) = parse(Array(value.prettyString.utf8), maximumDepth: maximumDepth), same(pretty, value) else {
        fatalError("the pretty form does not parse back: \(value.prettyString.debugDescription)")
    }
    let canonical = value.canonicalString
    guard case .success(let sorted) = parse(Array(canonical.utf8), maximumDepth: maximumDepth), sorted.canonicalString == canonical,
        same(sorted, value.sortedKeys())
    else {
        fatalError("the canonical form does not parse back: \(canonical.debugDescription)")
    }
}

/// Exact equality: strings and keys as UTF-8 bytes, numbers as their literal text, members in order.
func same(_ a: JSONValue, _ b: JSONValue) -> Bool {
    switch (a, b) {
    case (.null, .null): true
    case (.bool(let x), .bool(let y)): x == y
    case (.number(let x), .number(let y)): x.utf8.elementsEqual(y.utf8)
    case (.string(let x), .string(let y)): x.utf8.elementsEqual(y.utf8)
    case (.array(let x), .array(let y)): x.count == y.count && zip(x, y).allSatisfy { same($0, $1) }
    case (.object(let x), .object(let y)):
        x.count == y.count && zip(x, y).allSatisfy { $0.key.utf8.elementsEqual($1.key.utf8) && same($0.value, $1.value) }
    default: false
    }
}

/// Reads every accessor, so that none of them can trap unseen.
func touch(_ value: JSONValue) {
    _ = value.removingNulls()
    _ = value.typeName
    _ = value[0]
    _ = value[-1]
    _ = value[""]
    switch value {
    case .number:
        _ = value.intValue
        _ = value.doubleValue
    case .array(let items):
        items.forEach(touch)
    case .object(let members):
        if let first = members.first { _ = value[first.key] }
        _ = value.setting("k", to: .null).setting("k", to: nil)
        members.forEach { touch($0.value) }
    default:
        _ = value.stringValue
        _ = value.boolValue
    }
}

// MARK: - The reference

/// An RFC 8259 recogniser written from the grammar, separately from `JSONParser`, with the same policy where the RFC
/// leaves a choice: UTF-8 only, no byte-order mark, a `\u` escape of a lone surrogate refused (a Swift `String`
/// cannot hold it), nesting deeper than `maximumDepth` arrays and objects refused.
///
///     JSON-text = ws value ws
///     value     = false / null / true / object / array / number / string
///     number    = [ "-" ] ( "0" / [1-9] *DIGIT ) [ "." 1*DIGIT ] [ ( "e" / "E" ) [ "+" / "-" ] 1*DIGIT ]
///     string    = %x22 *( unescaped / "\" ( %x22 / "\" / "/" / "b" / "f" / "n" / "r" / "t" / "u" 4HEXDIG ) ) %x22
///     unescaped = %x20-21 / %x23-5B / %x5D-10FFFF   (as well-formed UTF-8: Unicode 15, table 3-7)
struct Reference {
    enum Outcome {
        case accepted(JSONValue)
        case refused(String, Int)
    }

    struct Refusal: Error {
        var reason: String
        var offset: Int
    }

    let bytes: [UInt8]
    let maximumDepth: Int
    var position = 0

    static func parse(_ bytes: [UInt8], maximumDepth: Int) -> Outcome {
        var reader = Reference(bytes: bytes, maximumDepth: maximumDepth)
        do throws(Refusal) {
            reader.whitespace()
            let value = try reader.value(nesting: 0)
            reader.whitespace()
            guard reader.position == bytes.count else { throw Refusal(reason: "trailing bytes", offset: reader.position) }
            return .accepted(value)
        } catch {
            return .refused(error.reason, error.offset)
        }
    }

    var current: UInt8? { self.position < self.bytes.count ? self.bytes[self.position] : nil }

    func refuse(_ reason: String) -> Refusal { Refusal(reason: reason, offset: self.position) }

    mutating func whitespace() {
        while let byte = self.current, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { self.position += 1 }
    }

    mutating func take(_ byte: UInt8) -> Bool {
        guard self.current == byte else { return false }
        self.position += 1
        return true
    }

    mutating func value(nesting: Int) throws(Refusal) -> JSONValue {
        guard let byte = self.current else { throw self.refuse("no value") }
        switch byte {
        case 0x7B, 0x5B:
            guard nesting < self.maximumDepth else { throw self.refuse("too deep") }
            return byte == 0x7B ? try self.object(nesting: nesting + 1) : try self.array(nesting: nesting + 1)
        case 0x22: return .string(try self.string())
        case 0x74: try self.word("true"); return .bool(true)
        case 0x66: try self.word("false"); return .bool(false)
        case 0x6E: try self.word("null"); return .null
        default: return .number(try self.number())
        }
    }

    mutating func word(_ word: String) throws(Refusal) {
        for expected in word.utf8 {
            guard self.take(expected) else { throw self.refuse("bad literal") }
        }
    }

    mutating func object(nesting: Int) throws(Refusal) -> JSONValue {
        self.position += 1
        var members: [JSONMember] = []
        self.whitespace()
        if self.take(0x7D) { return .object([]) }
        repeat {
            self.whitespace()
            guard self.current == 0x22 else { throw self.refuse("key is not a string") }
            let key = try self.string()
            self.whitespace()
            guard self.take(0x3A) else { throw self.refuse("no colon") }
            self.whitespace()
            members.append(JSONMember(key, try self.value(nesting: nesting)))
            self.whitespace()
        } while self.take(0x2C)
        guard self.take(0x7D) else { throw self.refuse("object not closed") }
        return .object(members)
    }

    mutating func array(nesting: Int) throws(Refusal) -> JSONValue {
        self.position += 1
        var items: [JSONValue] = []
        self.whitespace()
        if self.take(0x5D) { return .array([]) }
        repeat {
            self.whitespace()
            items.append(try self.value(nesting: nesting))
            self.whitespace()
        } while self.take(0x2C)
        guard self.take(0x5D) else { throw self.refuse("array not closed") }
        return .array(items)
    }

    /// A state machine over the number grammar; the literal is the bytes it consumed.
    mutating func number() throws(Refusal) -> String {
        enum State { case start, sign, zero, integer, dot, fraction, e, exponentSign, exponent }
        let start = self.position
        var state = State.start
        scan: while true {
            let byte = self.current
            let digit = byte.map { $0 >= 0x30 && $0 <= 0x39 } ?? false
            switch (state, byte) {
            case (.start, 0x2D): state = .sign
            case (.start, 0x30), (.sign, 0x30): state = .zero
            case (.start, _) where digit, (.sign, _) where digit: state = .integer
            case (.integer, _) where digit: state = .integer
            case (.zero, 0x2E), (.integer, 0x2E): state = .dot
            case (.dot, _) where digit, (.fraction, _) where digit: state = .fraction
            case (.zero, 0x65), (.zero, 0x45), (.integer, 0x65), (.integer, 0x45), (.fraction, 0x65), (.fraction, 0x45): state = .e
            case (.e, 0x2B), (.e, 0x2D): state = .exponentSign
            case (.e, _) where digit, (.exponentSign, _) where digit, (.exponent, _) where digit: state = .exponent
            default: break scan
            }
            self.position += 1
        }
        switch state {
        case .zero, .integer, .fraction, .exponent:
            return String(decoding: self.bytes[start..<self.position], as: UTF8.self)
        default:
            throw self.refuse("not a value")
        }
    }

    mutating func string() throws(Refusal) -> String {
        self.position += 1
        var scalars = String.UnicodeScalarView()
        while true {
            guard let byte = self.current else { throw self.refuse("string not closed") }
            switch byte {
            case 0x22:
                self.position += 1
                return String(scalars)
            case 0x5C:
                self.position += 1
                guard let escape = self.current else { throw self.refuse("string not closed") }
                self.position += 1
                switch escape {
                case 0x22, 0x5C, 0x2F: scalars.append(Unicode.Scalar(escape))
                case 0x62: scalars.append("\u{08}")
                case 0x66: scalars.append("\u{0C}")
                case 0x6E: scalars.append("\n")
                case 0x72: scalars.append("\r")
                case 0x74: scalars.append("\t")
                case 0x75:
                    let unit = try self.hex4()
                    var code = UInt32(unit)
                    if unit >= 0xD800, unit < 0xDC00 {
                        guard self.take(0x5C), self.take(0x75) else { throw self.refuse("lone high surrogate") }
                        let low = try self.hex4()
                        guard low >= 0xDC00, low < 0xE000 else { throw self.refuse("high surrogate without a low one") }
                        code = 0x10000 + (UInt32(unit - 0xD800) << 10 | UInt32(low - 0xDC00))
                    } else if unit >= 0xDC00, unit < 0xE000 {
                        throw self.refuse("lone low surrogate")
                    }
                    guard let scalar = Unicode.Scalar(code) else { throw self.refuse("not a scalar") }
                    scalars.append(scalar)
                default:
                    throw self.refuse("bad escape")
                }
            case 0x00..<0x20:
                throw self.refuse("control character")
            default:
                scalars.append(try self.utf8Scalar())
            }
        }
    }

    mutating func hex4() throws(Refusal) -> UInt16 {
        var unit: UInt16 = 0
        for _ in 0..<4 {
            guard let byte = self.current else { throw self.refuse("short \\u escape") }
            let nibble: UInt8
            switch byte {
            case 0x30...0x39: nibble = byte - 0x30
            case 0x41...0x46: nibble = byte - 0x41 + 10
            case 0x61...0x66: nibble = byte - 0x61 + 10
            default: throw self.refuse("not hex")
            }
            unit = unit * 16 + UInt16(nibble)
            self.position += 1
        }
        return unit
    }

    /// One well-formed UTF-8 sequence (Unicode table 3-7), as its scalar.
    mutating func utf8Scalar() throws(Refusal) -> Unicode.Scalar {
        let lead = self.bytes[self.position]
        let continuations: Int
        var secondRange: ClosedRange<UInt8> = 0x80...0xBF
        var code: UInt32
        switch lead {
        case 0x00...0x7F: continuations = 0; code = UInt32(lead)
        case 0xC2...0xDF: continuations = 1; code = UInt32(lead & 0x1F)
        case 0xE0: continuations = 2; code = 0; secondRange = 0xA0...0xBF
        case 0xE1...0xEC, 0xEE...0xEF: continuations = 2; code = UInt32(lead & 0x0F)
        case 0xED: continuations = 2; code = 0x0D; secondRange = 0x80...0x9F
        case 0xF0: continuations = 3; code = 0; secondRange = 0x90...0xBF
        case 0xF1...0xF3: continuations = 3; code = UInt32(lead & 0x07)
        case 0xF4: continuations = 3; code = 4; secondRange = 0x80...0x8F
        default: throw self.refuse("bad UTF-8 lead byte")
        }
        self.position += 1
        for index in 0..<continuations {
            guard let byte = self.current, (index == 0 ? secondRange : 0x80...0xBF).contains(byte) else {
                throw self.refuse("bad UTF-8 continuation")
            }
            code = code << 6 | UInt32(byte & 0x3F)
            self.position += 1
        }
        guard let scalar = Unicode.Scalar(code) else { throw self.refuse("not a scalar") }
        return scalar
    }
}
