import ProxyModels

/// What a model that follows instructions answers when the prompt asks for JSON that conforms to a schema
/// (the instruction q2api adds for Claude `output_config.format` and OpenAI `response_format`): the smallest
/// value of the schema. Lets a test or a schema fuzzer get a conforming reply without scripting one.
enum StructuredReply {
    static let marker = "conforms to this JSON schema"

    /// The schema an instruction in `content` asks for, if any: the JSON object after the marker, up to the line's end.
    static func schema(in content: String) -> JSONValue? {
        guard let markerRange = content.firstRange(of: marker),
            let brace = content[markerRange.upperBound...].firstIndex(of: "{")
        else { return nil }
        let line = content[brace...].prefix { $0 != "\n" }
        return try? JSONParser.parse(String(line))
    }

    /// The smallest value that satisfies the usual keywords of `schema` (`const`, `enum`, `anyOf`/`oneOf`,
    /// `type`, `required` with `properties`, `minItems` with `items`).
    static func instance(of schema: JSONValue, depth: Int = 0) -> JSONValue {
        guard depth < 16, case .object = schema else { return .object([]) }
        if let constant = schema["const"] { return constant }
        if let first = schema["enum"]?.arrayValue?.first { return first }
        if let first = (schema["anyOf"] ?? schema["oneOf"])?.arrayValue?.first { return instance(of: first, depth: depth + 1) }
        let type =
            schema["type"]?.stringValue ?? schema["type"]?.arrayValue?.first?.stringValue
            ?? (schema["properties"] != nil ? "object" : schema["items"] != nil ? "array" : "object")
        switch type {
        case "string": return .string(String(repeating: "x", count: min(max(1, schema["minLength"]?.intValue ?? 1), 1_000)))
        case "integer", "number": return .int(schema["minimum"]?.intValue ?? 0)
        case "boolean": return .bool(true)
        case "null": return .null
        case "array":
            let count = max(0, schema["minItems"]?.intValue ?? 0)
            let item = instance(of: schema["items"] ?? .object([]), depth: depth + 1)
            return .array(Array(repeating: item, count: min(count, 8)))
        default:
            let properties = schema["properties"]?.objectValue ?? []
            let required = schema["required"]?.arrayValue?.compactMap(\.stringValue) ?? []
            return .object(
                required.map { name in
                    JSONMember(name, instance(of: properties.first { $0.key == name }?.value ?? .object([]), depth: depth + 1))
                })
        }
    }
}
