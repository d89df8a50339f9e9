import Yams

// A small reader over Yams' node tree. It knows where every value came from (line, column, key path), applies
// `${VAR}` substitution to scalars, rejects unknown keys, and collects every problem instead of stopping at the
// first. Nothing here outlives a load; the resulting ProxyConfig holds no Yams types.

// MARK: - Locations

/// A dotted key path such as `accounts[0].weight`, built while walking the document.
struct ConfigPath: CustomStringConvertible {
    private(set) var description: String

    static let root = ConfigPath(description: "")

    /// Whether this is the document itself.
    var isRoot: Bool { self.description.isEmpty }

    /// The path of a key inside this mapping. Keys that are not plain words are quoted: `models.aliases["a b"]`.
    func key(_ key: String) -> ConfigPath {
        let plain =
            !key.isEmpty
            && key.utf8.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                    UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "."):
                    return true
                default:
                    return false
                }
            }
        let component = plain ? key : "[\"\(key)\"]"
        if self.description.isEmpty { return ConfigPath(description: component) }
        return ConfigPath(description: plain ? "\(self.description).\(component)" : self.description + component)
    }

    /// The path of an item of this sequence.
    func index(_ index: Int) -> ConfigPath {
        ConfigPath(description: "\(self.description)[\(index)]")
    }
}

/// A 1-based line and column; (0, 0) when unknown.
struct Position: Hashable {
    var line: Int
    var column: Int

    init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    init(_ mark: Mark?) {
        self.line = mark?.line ?? 0
        self.column = mark?.column ?? 0
    }
}

/// A value in the document with the place errors about it point at: the key of a mapping entry (as in
/// `q2api.yaml:12:5: accounts[0].weight: ...`), the item of a sequence, or the document itself.
struct Field {
    var node: Node
    var position: Position
    var path: ConfigPath
}

/// A mapping's entries after unknown-key checks. Lookups treat `key: null` (or `key:` with nothing) as absent.
struct MappingFields {
    /// The mapping as a whole.
    var field: Field
    /// Entries in document order.
    var entries: [(key: String, field: Field)]

    subscript(key: String) -> Field? {
        guard let entry = self.entries.first(where: { $0.key == key }), !NodeReader.isNull(entry.field.node) else {
            return nil
        }
        return entry.field
    }
}

// MARK: - Reader

/// Walks nodes, converting scalars and recording problems as `ConfigError`s.
final class NodeReader {
    let file: String
    let environment: [String: String]
    private(set) var errors: [ConfigError] = []

    init(file: String, environment: [String: String]) {
        self.file = file
        self.environment = environment
    }

    // MARK: Reporting

    func report(_ message: String, at position: Position, path: ConfigPath) {
        self.errors.append(
            ConfigError(
                file: self.file, line: position.line, column: position.column, keyPath: path.description,
                message: message)
        )
    }

    func report(_ message: String, _ field: Field) {
        self.report(message, at: field.position, path: field.path)
    }

    // MARK: Structure

    /// Whether a node is YAML null: `~`, `null` or nothing, unquoted.
    static func isNull(_ node: Node) -> Bool {
        guard case .scalar(let scalar) = node, scalar.style == .plain || scalar.style == .any else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    /// The entries of a mapping whose keys must come from `allowed`.
    ///
    /// Reports a non-mapping value, non-string and duplicate keys, and each unknown key (with the allowed keys and,
    /// when one is close, a suggestion). Unknown keys are left out of the result; the rest is still read.
    func mapping(_ field: Field, allowed: [String]?) -> MappingFields? {
        guard case .mapping(let mapping) = field.node else {
            self.report("must be a mapping (key: value pairs), not \(Self.kind(of: field.node))", field)
            return nil
        }
        var entries: [(key: String, field: Field)] = []
        var seen: [String: Position] = [:]
        for (keyNode, valueNode) in mapping {
            let keyPosition = Position(keyNode.mark)
            guard case .scalar(let keyScalar) = keyNode else {
                self.report("keys must be strings, not \(Self.kind(of: keyNode))", at: keyPosition, path: field.path)
                continue
            }
            let key = keyScalar.string
            let path = field.path.key(key)
            if let allowed, !allowed.contains(key) {
                var message = "unknown key '\(key)'"
                if let suggestion = Suggestion.closest(to: key, in: allowed) {
                    message += "; did you mean '\(suggestion)'?"
                }
                message += " Allowed keys: \(allowed.joined(separator: ", "))"
                self.report(message, at: keyPosition, path: path)
                continue
            }
            if let first = seen[key] {
                self.report("duplicate key '\(key)' (first given at line \(first.line))", at: keyPosition, path: path)
                continue
            }
            seen[key] = keyPosition
            entries.append((key, Field(node: valueNode, position: keyPosition, path: path)))
        }
        return MappingFields(field: field, entries: entries)
    }

    /// The items of a sequence, each located at itself.
    func sequence(_ field: Field) -> [Field]? {
        guard case .sequence(let sequence) = field.node else {
            self.report("must be a list, not \(Self.kind(of: field.node))", field)
            return nil
        }
        return sequence.enumerated().map { index, node in
            Field(node: node, position: Position(node.mark), path: field.path.index(index))
        }
    }

    // MARK: Scalars

    /// A scalar's text after `${VAR}` substitution. Error messages never include the text.
    func string(_ field: Field) -> String? {
        guard case .scalar(let scalar) = field.node else {
            self.report("must be a string, not \(Self.kind(of: field.node))", field)
            return nil
        }
        if Self.isNull(field.node) {
            self.report("must be a string, not null (write \"\" for an empty string)", field)
            return nil
        }
        switch EnvironmentSubstitution.apply(to: scalar.string, environment: self.environment) {
        case .success(let text): return text
        case .failure(let error):
            self.report(error.message, field)
            return nil
        }
    }

    /// A non-empty string.
    func nonEmptyString(_ field: Field) -> String? {
        guard let text = self.string(field) else { return nil }
        guard !text.isEmpty else {
            self.report("must not be empty", field)
            return nil
        }
        return text
    }

    /// `true` or `false` (any case).
    func bool(_ field: Field) -> Bool? {
        guard let text = self.scalarText(field, expected: "true or false") else { return nil }
        switch text.lowercased() {
        case "true": return true
        case "false": return false
        default:
            self.report("must be true or false", field)
            return nil
        }
    }

    /// A decimal integer (underscores allowed as separators) no smaller than `minimum`.
    func int(_ field: Field, minimum: Int) -> Int? {
        guard let text = self.scalarText(field, expected: "an integer") else { return nil }
        var digits = Substring(text.filter { $0 != "_" })
        if digits.hasPrefix("+") { digits = digits.dropFirst() }
        guard let value = Int(digits) else {
            self.report("must be an integer >= \(minimum)", field)
            return nil
        }
        guard value >= minimum else {
            self.report("must be an integer >= \(minimum)", field)
            return nil
        }
        return value
    }

    /// A duration with a unit (`1500ms`, `15s`, `10m`, `1h`), at least `minimum`.
    func duration(_ field: Field, minimum: Duration = .zero) -> Duration? {
        guard let text = self.scalarText(field, expected: "a duration such as 15s") else { return nil }
        switch DurationSyntax.parse(text) {
        case .failure(let error):
            self.report(error.message, field)
            return nil
        case .success(let duration):
            guard duration >= minimum else {
                self.report(
                    minimum == .milliseconds(1)
                        ? "must be longer than 0" : "must be at least \(DurationSyntax.format(minimum))",
                    field
                )
                return nil
            }
            return duration
        }
    }

    /// A size with a unit (`512KiB`, `20MiB`, `1GB`), in bytes, at least `minimum`.
    func size(_ field: Field, minimum: Int) -> Int? {
        guard let text = self.scalarText(field, expected: "a size such as 20MiB") else { return nil }
        switch SizeSyntax.parse(text) {
        case .failure(let error):
            self.report(error.message, field)
            return nil
        case .success(let bytes):
            guard bytes >= minimum else {
                self.report("must be at least \(minimum) bytes", field)
                return nil
            }
            return bytes
        }
    }

    /// One of an enum's YAML spellings.
    func choice<Choice: RawRepresentable & CaseIterable>(_ field: Field, _: Choice.Type) -> Choice?
    where Choice.RawValue == String {
        let names = Choice.allCases.map(\.rawValue)
        guard let text = self.scalarText(field, expected: "one of \(names.joined(separator: ", "))") else { return nil }
        if let value = Choice(rawValue: text) { return value }
        var message = "'\(text)' is not one of \(names.joined(separator: ", "))"
        if let suggestion = Suggestion.closest(to: text, in: names) {
            message += "; did you mean '\(suggestion)'?"
        }
        self.report(message, field)
        return nil
    }

    /// A scalar's substituted text, reporting non-scalars as "must be <expected>".
    private func scalarText(_ field: Field, expected: String) -> String? {
        guard case .scalar = field.node else {
            self.report("must be \(expected), not \(Self.kind(of: field.node))", field)
            return nil
        }
        return self.string(field)?.trimmingWhitespace()
    }

    static func kind(of node: Node) -> String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .scalar: return isNull(node) ? "null" : "a scalar"
        case .alias: return "an alias"
        }
    }
}
