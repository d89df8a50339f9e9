import ProxyModels

/// Cleans a client's JSON Schema into what the upstream accepts.
///
/// MCP servers send schemas with `null` members (`"required": null`) and meta keys that the
/// upstream answers with "Improperly formed request"; those are removed recursively.
package enum SchemaNormaliser {
    static let droppedKeys: Set<String> = ["$schema", "$id", "$comment"]
    /// Deeper schemas (or cyclic `$ref` expansions a client produced) are cut off here.
    static let maximumDepth = 64

    package static func normalise(_ schema: JSONValue) -> JSONValue {
        var result = clean(schema, depth: 0) ?? .object([])
        if case .object(let members) = result {
            if !members.contains(where: { $0.key == "type" }) {
                result = .object([JSONMember("type", "object")] + members)
            }
        } else {
            result = ["type": "object"]
        }
        return result
    }

    static func clean(_ value: JSONValue, depth: Int) -> JSONValue? {
        guard depth < maximumDepth else { return .object([]) }
        switch value {
        case .null: return nil
        case .array(let items): return .array(items.compactMap { clean($0, depth: depth + 1) })
        case .object(let members):
            return .object(
                members.compactMap { member in
                    guard !droppedKeys.contains(member.key), let value = clean(member.value, depth: depth + 1) else { return nil }
                    return JSONMember(member.key, value)
                })
        default: return value
        }
    }
}
