import Yams

extension ProxyConfig {
    /// `reload`: how a reload reads `q2api.yaml`.
    package struct Reload: Sendable, Equatable {
        /// `settle`: a reload applies the file only when two reads this far apart agree, in content and in the
        /// file's size, inode and modification time, so a file still being written is never applied. `0s` reads
        /// the file once.
        package var settle: Duration

        package init(settle: Duration = .seconds(1)) {
            self.settle = settle
        }
    }

    /// The top-level keys `yaml` writes out with a value: `accounts: []` counts, `accounts:` with nothing after it
    /// (or `~`, `null`) and a missing key do not. Empty when the text is not a YAML mapping.
    ///
    /// A reload uses this to tell "the operator removed every account on purpose" (`accounts: []`) from a key that
    /// is simply absent.
    package static func writtenKeys(yaml: String) -> Set<String> {
        guard let root = try? Yams.compose(yaml: yaml), case .mapping(let mapping) = root else { return [] }
        var keys: Set<String> = []
        for (key, value) in mapping where !NodeReader.isNull(value) {
            if case .scalar(let scalar) = key { keys.insert(scalar.string) }
        }
        return keys
    }
}

/// Recognises a configuration file that was read while it was being written: nothing in it, or YAML that stops
/// in the middle of a collection. Such a file must never be taken for "all defaults".
enum Truncation {
    static let hint = "it looks truncated (was it read while being written?)"

    /// The error for a document with no content at all (empty, blank or only comments).
    static func emptyDocument(path: String, text: String) -> ConfigError {
        let what =
            text.unicodeScalars.allSatisfy { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
            ? "the file is empty" : "the file holds no settings, only comments"
        return ConfigError(
            file: path, line: 0, column: 0, keyPath: "",
            message: "\(what): \(hint); a configuration starts with version: 1")
    }

    /// Whether a document holds nothing (no node, or a lone null).
    static func isEmpty(_ root: Node?) -> Bool {
        guard let root else { return true }
        return NodeReader.isNull(root)
    }

    /// An error when the last value in the document (in document order) is a key or list item with nothing after
    /// it, such as a file that ends with `listeners:`. `key: ~`, `key: null` and `key: []` written out are values.
    static func trailingEmptyValue(_ root: Node, path: String) -> ConfigError? {
        var node = root
        var keyPath = ConfigPath.root
        var position = Position(root.mark)
        while true {
            switch node {
            case .mapping(let mapping):
                guard let last = Array(mapping).last else { return nil }
                if case .scalar(let key) = last.key {
                    keyPath = keyPath.key(key.string)
                } else {
                    return nil
                }
                position = Position(last.key.mark)
                node = last.value
            case .sequence(let sequence):
                guard let last = Array(sequence).last else { return nil }
                keyPath = keyPath.index(sequence.count - 1)
                position = Position(last.mark)
                node = last
            case .scalar(let scalar):
                guard scalar.string.isEmpty, scalar.style == .plain || scalar.style == .any, node != root else {
                    return nil
                }
                return ConfigError(
                    file: path, line: position.line, column: position.column, keyPath: keyPath.description,
                    message: "the file ends here with no value: \(hint); write the value (for an empty list, [])")
            case .alias:
                return nil
            }
        }
    }

    /// Whether a syntax error's position is at or past the last character of the text that is not blank: the
    /// document stopped in the middle of something (an unterminated `[`, `{` or quote, a key without its colon).
    static func isAtEnd(_ position: Position, of text: String) -> Bool {
        var line = 1
        var column = 1
        var last: Position?
        for scalar in text.unicodeScalars {
            if scalar == "\n" {
                line += 1
                column = 1
                continue
            }
            if scalar != " " && scalar != "\t" && scalar != "\r" { last = Position(line: line, column: column) }
            column += 1
        }
        guard let last, position.line > 0 else { return false }
        return (position.line, position.column) >= (last.line, last.column)
    }
}
