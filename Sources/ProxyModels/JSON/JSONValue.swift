/// A JSON document kept exactly as the client wrote it.
///
/// The proxy passes tool inputs and schemas through untouched and must report precise
/// field paths when a request is malformed, so it works on this value model rather than
/// on `Codable` types: members keep their order (golden files stay stable), numbers keep
/// their literal text (no precision is lost on the way to the upstream), and every part
/// can be inspected without a second decode.
package enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    /// The number's literal text, as validated by the parser (for example `12`, `-0.5e3`).
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([JSONMember])
}

/// One member of a JSON object; objects keep their members in order.
package struct JSONMember: Sendable, Hashable {
    package var key: String
    package var value: JSONValue

    package init(_ key: String, _ value: JSONValue) {
        self.key = key
        self.value = value
    }
}

// MARK: - Building

extension JSONValue {
    package static func int(_ value: Int) -> JSONValue { .number(String(value)) }

    package static func double(_ value: Double) -> JSONValue {
        if value.isFinite, value == value.rounded(), abs(value) < 1e15 { return .number(String(Int(value))) }
        return value.isFinite ? .number(String(value)) : .null
    }

    /// An object from ordered pairs; `nil` values are left out, because the upstream
    /// rejects explicit nulls where it expects an absent member.
    package static func object(_ pairs: KeyValuePairs<String, JSONValue?>) -> JSONValue {
        .object(pairs.compactMap { key, value in value.map { JSONMember(key, $0) } })
    }
}

// MARK: - Reading

extension JSONValue {
    package subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        // Last one wins, as in most JSON parsers clients use.
        return members.last(where: { $0.key == key })?.value
    }

    package subscript(index: Int) -> JSONValue? {
        guard case .array(let items) = self, items.indices.contains(index) else { return nil }
        return items[index]
    }

    package var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    package var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    package var arrayValue: [JSONValue]? {
        if case .array(let value) = self { return value }
        return nil
    }

    package var objectValue: [JSONMember]? {
        if case .object(let value) = self { return value }
        return nil
    }

    package var doubleValue: Double? {
        if case .number(let text) = self { return Double(text) }
        return nil
    }

    /// The value as an integer when it is a whole number in range (`3` and `3.0` both qualify).
    package var intValue: Int? {
        guard case .number(let text) = self else { return nil }
        if let int = Int(text) { return int }
        if let double = Double(text), double == double.rounded(), abs(double) < 9e15 { return Int(double) }
        return nil
    }

    package var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// The JSON type name used in error messages.
    package var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    /// Returns a copy with `key` set (replacing an existing member in place, or appended).
    package func setting(_ key: String, to value: JSONValue?) -> JSONValue {
        guard case .object(var members) = self else { return self }
        if let index = members.firstIndex(where: { $0.key == key }) {
            if let value { members[index].value = value } else { members.remove(at: index) }
        } else if let value {
            members.append(JSONMember(key, value))
        }
        return .object(members)
    }
}

// MARK: - Literals

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByArrayLiteral, ExpressibleByNilLiteral
{
    package init(stringLiteral value: String) { self = .string(value) }
    package init(booleanLiteral value: Bool) { self = .bool(value) }
    package init(integerLiteral value: Int) { self = .number(String(value)) }
    package init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    package init(nilLiteral: ()) { self = .null }
}

extension JSONValue: ExpressibleByDictionaryLiteral {
    package init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(elements.map { JSONMember($0.0, $0.1) })
    }
}

extension JSONValue {
    /// A copy without `null` members or elements: the upstream rejects explicit nulls anywhere in a body.
    package func removingNulls() -> JSONValue {
        switch self {
        case .array(let items): .array(items.filter { !$0.isNull }.map { $0.removingNulls() })
        case .object(let members): .object(members.filter { !$0.value.isNull }.map { JSONMember($0.key, $0.value.removingNulls()) })
        default: self
        }
    }
}
