import ProxyModels

/// Structured outputs (Claude `output_config.format` / `output_format`, OpenAI `response_format`).
///
/// The upstream has no constrained decoding, so the schema reaches the model as an instruction, and
/// a complete reply is checked: `extractJSON` takes the JSON value out of the reply text (a model
/// often wraps it in a code fence) and `violation` checks it against the schema's core keywords.
package enum StructuredOutput {
    package static func instruction(for schema: JSONValue) -> String {
        "Respond with only a single JSON value that conforms to this JSON schema, with no prose and no code fence: \(schema.jsonString)"
    }

    static let types: Set<String> = ["object", "array", "string", "number", "integer", "boolean", "null"]

    /// Why `schema` is not a JSON schema q2api can hold a reply to (the API refuses those with a 400), or `nil`:
    /// the field path of the offending keyword and what is wrong with it. `true`/`false` subschemas and tuple
    /// `items` are valid; only the keywords q2api checks are examined.
    package static func schemaProblem(_ schema: JSONValue, path: String = "schema") -> (field: String, message: String)? {
        if case .bool = schema { return nil }
        guard case .object = schema else { return (path, "must be a JSON schema object") }
        if let type = schema["type"] {
            let names = type.arrayValue.map { $0.map(\.stringValue) } ?? [type.stringValue]
            if names.isEmpty || names.contains(where: { $0 == nil || !types.contains($0!) }) {
                return ("\(path).type", "must be one of \(types.sorted().joined(separator: ", ")) or a list of them")
            }
        }
        if let required = schema["required"], required.arrayValue?.allSatisfy({ $0.stringValue != nil }) != true {
            return ("\(path).required", "must be a list of property names")
        }
        if let options = schema["enum"], options.arrayValue?.isEmpty != false { return ("\(path).enum", "must be a non-empty list") }
        if let properties = schema["properties"] {
            guard let members = properties.objectValue else { return ("\(path).properties", "must be an object") }
            for member in members {
                if let problem = schemaProblem(member.value, path: "\(path).properties.\(member.key)") { return problem }
            }
        }
        if let items = schema["items"] {
            for (index, item) in (items.arrayValue ?? [items]).enumerated() {
                let itemPath = items.arrayValue == nil ? "\(path).items" : "\(path).items.\(index)"
                if let problem = schemaProblem(item, path: itemPath) { return problem }
            }
        }
        for key in ["anyOf", "oneOf"] {
            guard let variants = schema[key] else { continue }
            guard let list = variants.arrayValue, !list.isEmpty else { return ("\(path).\(key)", "must be a non-empty list") }
            for (index, variant) in list.enumerated() {
                if let problem = schemaProblem(variant, path: "\(path).\(key).\(index)") { return problem }
            }
        }
        return nil
    }

    /// JSON equality with numbers compared by value (`1.0` equals `1`), as JSON Schema's `enum` and `const` do.
    static func sameValue(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (a, b) {
        case (.number, .number): return a.doubleValue == b.doubleValue
        case (.array(let x), .array(let y)): return x.count == y.count && zip(x, y).allSatisfy { sameValue($0, $1) }
        case (.object(let x), .object(let y)):
            return x.count == y.count && x.allSatisfy { member in y.contains { $0.key == member.key && sameValue($0.value, member.value) } }
        default: return a == b
        }
    }

    /// The JSON text inside a reply: the reply itself, or the body of its first code fence, trimmed.
    package static func extractJSON(_ text: String) -> String {
        let trimmed = text.trimmingWhitespace()
        guard let open = trimmed.firstRange(of: "```") else { return trimmed }
        let afterOpen = trimmed[open.upperBound...]
        let bodyStart = afterOpen.firstIndex(of: "\n").map { afterOpen.index(after: $0) } ?? afterOpen.startIndex
        guard let close = trimmed[bodyStart...].firstRange(of: "```") else { return trimmed }
        return String(trimmed[bodyStart..<close.lowerBound]).trimmingWhitespace()
    }

    /// The first way `value` breaks `schema` (`type`, `enum`, `const`, `required`, `properties`,
    /// `additionalProperties: false`, `items`, `anyOf`/`oneOf`), or `nil` when it conforms.
    package static func violation(of schema: JSONValue, by value: JSONValue, path: String = "$") -> String? {
        guard case .object = schema else { return nil }
        if let types = schema["type"] {
            let names = types.arrayValue?.compactMap(\.stringValue) ?? [types.stringValue].compactMap { $0 }
            if !names.isEmpty, !names.contains(where: { matches(type: $0, value) }) {
                return "\(path): expected \(names.joined(separator: " or "))"
            }
        }
        if let options = schema["enum"]?.arrayValue, !options.contains(where: { sameValue($0, value) }) {
            return "\(path): not one of the enum values"
        }
        if let constant = schema["const"], !sameValue(constant, value) { return "\(path): not the const value" }
        if let variants = (schema["anyOf"] ?? schema["oneOf"])?.arrayValue, !variants.isEmpty,
            !variants.contains(where: { violation(of: $0, by: value, path: path) == nil })
        {
            return "\(path): matches none of anyOf/oneOf"
        }
        if case .object(let members) = value {
            let properties = schema["properties"]?.objectValue ?? []
            for required in schema["required"]?.arrayValue?.compactMap(\.stringValue) ?? [] where value[required] == nil {
                return "\(path): missing required property \"\(required)\""
            }
            for member in members {
                if let propertySchema = properties.first(where: { $0.key == member.key })?.value {
                    if let problem = violation(of: propertySchema, by: member.value, path: "\(path).\(member.key)") { return problem }
                } else if schema["additionalProperties"] == .bool(false) {
                    return "\(path): unexpected property \"\(member.key)\""
                }
            }
        }
        if case .array(let items) = value, let itemSchema = schema["items"] {
            for (index, item) in items.enumerated() {
                // A tuple schema (`items: [...]`) holds each position to its own schema; a boolean schema `false` to nothing.
                let schemaOfItem = itemSchema.arrayValue.map { index < $0.count ? $0[index] : .bool(true) } ?? itemSchema
                if schemaOfItem == .bool(false) { return "\(path)[\(index)]: no item is allowed here" }
                if let problem = violation(of: schemaOfItem, by: item, path: "\(path)[\(index)]") { return problem }
            }
        }
        return nil
    }

    private static func matches(type: String, _ value: JSONValue) -> Bool {
        switch (type, value) {
        case ("object", .object), ("array", .array), ("string", .string), ("boolean", .bool), ("null", .null): true
        case ("number", .number): true
        case ("integer", .number): value.doubleValue.map { $0 == $0.rounded() } ?? false
        default: false
        }
    }
}

extension StructuredOutput {
    /// The reply text as the bare JSON value the schema asks for, or the reason it is not one.
    package static func conform(_ text: String, to schema: JSONValue) -> Result<String, StructuredOutputViolation> {
        let json = extractJSON(text)
        guard let value = try? JSONParser.parse(json) else {
            return .failure(StructuredOutputViolation(message: "the reply is not valid JSON"))
        }
        if let problem = violation(of: schema, by: value) { return .failure(StructuredOutputViolation(message: problem)) }
        return .success(json)
    }
}

package struct StructuredOutputViolation: Error, Sendable, Equatable {
    package var message: String
}
