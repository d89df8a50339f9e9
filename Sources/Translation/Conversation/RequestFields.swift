import ProxyModels

/// Member readers shared by the dialect decoders; errors name the member's path.
enum RequestFields {
    /// The objects of an optional array member (absent or null: none), each with its path.
    static func objects(_ value: JSONValue?, path: String) throws(RequestError) -> [(path: String, value: JSONValue)] {
        guard let value, !value.isNull else { return [] }
        guard let items = value.arrayValue else { throw .invalid(path, "must be an array") }
        var objects: [(path: String, value: JSONValue)] = []
        for (index, item) in items.enumerated() {
            guard case .object = item else { throw .invalid("\(path).\(index)", "must be an object") }
            objects.append(("\(path).\(index)", item))
        }
        return objects
    }

    /// An optional boolean member (absent or null: `false`).
    static func bool(_ value: JSONValue?, path: String) throws(RequestError) -> Bool {
        switch value {
        case nil, .null?: return false
        case .bool(let flag)?: return flag
        default: throw .invalid(path, "must be a boolean")
        }
    }
}
