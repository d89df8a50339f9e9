import Foundation
import Yams

/// One key of a mapping in `q2api.yaml`: its name, whether it must be given, and the code that reads its value
/// into `Value`, the thing the mapping builds.
///
/// A ``KeyTable`` holds the keys of one mapping. The table is the only place a key is named: the unknown-key check,
/// its "did you mean" suggestion, the "Allowed keys" list and ``ProxyConfig/keySets`` all come from it, so a key
/// cannot be accepted without being read, or read without being accepted.
///
/// ```swift
/// static let refreshKeys = KeyTable<ProxyConfig.Refresh>([
///     .duration("before_expiry", \.beforeExpiry),
///     .duration("jitter", \.jitter),
/// ])
/// ```
struct ConfigKey<Value>: Sendable {
    /// Reads a present, non-null value into `Value`, reporting any problem to the decoder's reader.
    typealias Read = @Sendable (ConfigDecoder, Field, inout Value) -> Void

    /// Whether a key may be left out.
    enum Presence: Sendable {
        case optional
        /// The key must be given. Its absence is reported as `missing required key '<name>'` followed by `hint`,
        /// at the mapping that lacks it.
        case required(hint: String = "")
        /// Required, except when the mapping's `key` is the plain scalar `value` (`client_id`, unless `kind: kiro`).
        case requiredUnless(key: String, is: String, hint: String = "")
    }

    /// The key as written in the file.
    let name: String
    let presence: Presence
    /// Reads the value written under ``name``.
    let readValue: Read
    /// Reads the value from the file named under `<name>_file` instead; `nil` for keys without that form. Giving
    /// both forms is an error.
    let readFromFile: Read?
    /// The mappings below this key (for ``ProxyConfig/keySets``), given the key's own path; `nil` for a leaf.
    let nested: (@Sendable (String) -> [ConfigKeySet])?

    init(
        _ name: String,
        _ presence: Presence = .optional,
        readFromFile: Read? = nil,
        nested: (@Sendable (String) -> [ConfigKeySet])? = nil,
        read: @escaping Read
    ) {
        self.name = name
        self.presence = presence
        self.readValue = read
        self.readFromFile = readFromFile
        self.nested = nested
    }

    /// `<name>_file`, for a key that may also be read from a file.
    var fileName: String? { self.readFromFile == nil ? nil : "\(self.name)_file" }

    /// The names this key accepts: its own, then `<name>_file` when it has that form.
    var names: [String] { [self.name] + (self.fileName.map { [$0] } ?? []) }

    var isRequired: Bool {
        switch self.presence {
        case .optional: false
        case .required, .requiredUnless: true
        }
    }

    /// Reads this key from `map`: its value, its file, the error for both, or the error for neither when required.
    func read(from map: MappingFields, with decoder: ConfigDecoder, into value: inout Value) {
        let inline = map[self.name]
        let file = self.fileName.flatMap { map[$0] }
        switch (inline, file) {
        case (.some(let field), nil):
            self.readValue(decoder, field, &value)
        case (nil, .some(let field)):
            self.readFromFile?(decoder, field, &value)
        case (.some, .some(let field)):
            decoder.reader.report("give either \(self.name) or \(self.name)_file, not both", field)
        case (nil, nil):
            let hint: String
            switch self.presence {
            case .optional: return
            case .required(let text): hint = text
            case .requiredUnless(let key, let value, let text):
                if case .scalar(let scalar) = map[key]?.node, scalar.string == value { return }
                hint = text
            }
            let message = "missing required key '\(self.name)'\(hint)"
            if map.field.path.isRoot {
                // The document itself has no key path, so a key missing at the top level is named by its own.
                decoder.reader.report(message, at: map.field.position, path: ConfigPath.root.key(self.name))
            } else {
                decoder.reader.report(message, map.field)
            }
        }
    }
}

// MARK: - Leaf keys

extension ConfigKey {
    /// `true` or `false`.
    static func bool(_ name: String, _ path: any WritableKeyPath<Value, Bool> & Sendable) -> ConfigKey {
        ConfigKey(name) { decoder, field, value in
            if let bool = decoder.reader.bool(field) { value[keyPath: path] = bool }
        }
    }

    /// A decimal integer no smaller than `minimum`.
    static func int(_ name: String, _ path: any WritableKeyPath<Value, Int> & Sendable, minimum: Int) -> ConfigKey {
        ConfigKey(name) { decoder, field, value in
            if let int = decoder.reader.int(field, minimum: minimum) { value[keyPath: path] = int }
        }
    }

    /// A duration with a unit (`15s`), at least `minimum`.
    static func duration(
        _ name: String, _ path: any WritableKeyPath<Value, Duration> & Sendable, minimum: Duration = .zero
    ) -> ConfigKey {
        ConfigKey(name) { decoder, field, value in
            if let duration = decoder.reader.duration(field, minimum: minimum) { value[keyPath: path] = duration }
        }
    }

    /// A size with a unit (`20MiB`), in bytes, at least `minimum`.
    static func size(_ name: String, _ path: any WritableKeyPath<Value, Int> & Sendable, minimum: Int) -> ConfigKey {
        ConfigKey(name) { decoder, field, value in
            if let size = decoder.reader.size(field, minimum: minimum) { value[keyPath: path] = size }
        }
    }

    /// One of an enum's YAML spellings (its raw values).
    static func choice<Choice: RawRepresentable & CaseIterable & Sendable>(
        _ name: String, _ path: any WritableKeyPath<Value, Choice> & Sendable
    ) -> ConfigKey where Choice.RawValue == String {
        ConfigKey(name) { decoder, field, value in
            if let choice = decoder.reader.choice(field, Choice.self) { value[keyPath: path] = choice }
        }
    }

    /// A required secret, written inline (`name: VALUE`) or read from a file (`name_file: PATH`); trimmed and
    /// never empty. Messages never include the value.
    static func secret(_ name: String, _ path: any WritableKeyPath<Value, Secret?> & Sendable) -> ConfigKey {
        ConfigKey(
            name, .required(hint: " (or '\(name)_file' to read it from a file)"),
            readFromFile: { decoder, field, value in value[keyPath: path] = decoder.fileSecret(field) },
            read: { decoder, field, value in value[keyPath: path] = decoder.inlineSecret(field) }
        )
    }
}

extension ConfigKey {
    /// A secret like ``secret(_:_:)`` that is required unless the mapping's `key` is `value` (an account's
    /// `client_id`, which `kind: kiro` accounts do without).
    static func secret(
        _ name: String, _ path: any WritableKeyPath<Value, Secret?> & Sendable, unless key: String, is value: String
    ) -> ConfigKey {
        ConfigKey(
            name, .requiredUnless(key: key, is: value, hint: " (or '\(name)_file' to read it from a file)"),
            readFromFile: { decoder, field, value in value[keyPath: path] = decoder.fileSecret(field) },
            read: { decoder, field, value in value[keyPath: path] = decoder.inlineSecret(field) }
        )
    }
}

// MARK: - Nested mappings

extension ConfigKey {
    /// A mapping read with `table` into the value at `path`. When the value is not a mapping, `path` keeps what it
    /// held (the section's defaults).
    static func section<Section>(
        _ name: String, _ path: any WritableKeyPath<Value, Section> & Sendable, _ table: KeyTable<Section>
    ) -> ConfigKey {
        ConfigKey(name, nested: { table.keySets(at: $0) }) { decoder, field, value in
            table.read(field, with: decoder, into: &value[keyPath: path])
        }
    }

    /// A mapping read with `table` by `read`, for a section that is built in steps (`read` gets `table` back, so
    /// the keys listed and the keys read are the same table).
    static func section<Section>(
        _ name: String, _ table: KeyTable<Section>,
        read: @escaping @Sendable (ConfigDecoder, Field, KeyTable<Section>, inout Value) -> Void
    ) -> ConfigKey {
        ConfigKey(name, nested: { table.keySets(at: $0) }) { decoder, field, value in
            read(decoder, field, table, &value)
        }
    }

    /// A list of mappings, each read with `table` by `read`.
    static func list<Item>(
        _ name: String, of table: KeyTable<Item>,
        read: @escaping @Sendable (ConfigDecoder, Field, KeyTable<Item>, inout Value) -> Void
    ) -> ConfigKey {
        ConfigKey(name, nested: { table.keySets(at: $0 + "[]") }) { decoder, field, value in
            read(decoder, field, table, &value)
        }
    }
}
