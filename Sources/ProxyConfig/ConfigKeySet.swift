/// One mapping of `q2api.yaml` with a fixed set of keys, and those keys.
///
/// ``ProxyConfig/keySets`` lists them all. They come from the tables the loader reads with, so a listing can never
/// name a key the loader refuses, or leave out one it reads.
///
/// ```swift
/// for set in ProxyConfig.keySets {
///     print(set.path.isEmpty ? "(top level)" : set.path, set.keys.joined(separator: ", "))
/// }
/// // (top level) version, listeners, api_keys, …
/// // listeners[] address, open
/// ```
package struct ConfigKeySet: Sendable, Hashable {
    /// Where the mapping is: `""` for the top level, `upstream`, `listeners[]` for each item of `listeners`.
    package var path: String
    /// The keys the mapping accepts (`<key>_file` forms included), in the order unknown-key errors list them.
    package var keys: [String]

    package init(path: String, keys: [String]) {
        self.path = path
        self.keys = keys
    }
}

extension ProxyConfig {
    /// Every mapping of `q2api.yaml` with a fixed set of keys, top level first, each followed by the mappings
    /// below it. `models.aliases`, whose keys are model names, is a key of `models`, not a set of its own.
    package static var keySets: [ConfigKeySet] {
        ConfigDecoder.rootKeys.keySets(at: "")
    }
}
