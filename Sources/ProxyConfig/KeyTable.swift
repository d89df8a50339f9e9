/// The keys of one mapping in `q2api.yaml`, each with the code that reads it, and the checks that span several of
/// them.
///
/// Reading a mapping with a table rejects every key the table does not list (with a suggestion and the list of
/// allowed keys, in table order), reads each listed key that is present, reports each required key that is
/// missing, then runs ``check``.
///
/// ```swift
/// var shard = ProxyConfig.Shard()
/// ConfigDecoder.shardKeys.read(field, with: decoder, into: &shard)
/// ```
struct KeyTable<Value>: Sendable {
    /// Checks that span several keys of the mapping; runs after every key was read.
    typealias Check = @Sendable (ConfigDecoder, MappingFields, inout Value) -> Void

    /// The keys, in the order errors list them.
    let keys: [ConfigKey<Value>]
    let check: Check?

    init(_ keys: [ConfigKey<Value>], check: Check? = nil) {
        self.keys = keys
        self.check = check
    }

    /// Every name the mapping accepts, `<name>_file` forms included, in table order.
    var names: [String] { self.keys.flatMap(\.names) }

    /// Reads `field` as a mapping of this table's keys into `value`.
    ///
    /// Required keys are read first, so that a missing one is reported before other problems found at the same
    /// place (a list item's position is also its first key's). The rest follow in table order.
    ///
    /// - Returns: Whether `field` was a mapping; when it was not, the error is reported and `value` is unchanged.
    @discardableResult
    func read(_ field: Field, with decoder: ConfigDecoder, into value: inout Value) -> Bool {
        guard let map = decoder.reader.mapping(field, allowed: self.names) else { return false }
        for key in self.keys where key.isRequired {
            key.read(from: map, with: decoder, into: &value)
        }
        for key in self.keys where !key.isRequired {
            key.read(from: map, with: decoder, into: &value)
        }
        self.check?(decoder, map, &value)
        return true
    }

    /// This mapping's keys at `path`, then those of the mappings below it.
    func keySets(at path: String) -> [ConfigKeySet] {
        var sets = [ConfigKeySet(path: path, keys: self.names)]
        for key in self.keys {
            if let nested = key.nested {
                sets += nested(path.isEmpty ? key.name : "\(path).\(key.name)")
            }
        }
        return sets
    }
}
