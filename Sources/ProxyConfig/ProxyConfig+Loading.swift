import Foundation
import Yams

extension ProxyConfig {
    /// Reads, parses and validates a configuration file.
    ///
    /// `${VAR}` and `${VAR:-default}` in any scalar are replaced from `environment` (`$${` is a literal `${`).
    /// `client_id_file`-style secrets, the `upstream.template` file and the configuration file itself are read
    /// through `readFile`, so tests need no disk. Relative paths (`state_dir`, `upstream.template`, `*_file`) are
    /// resolved against the directory of `path`. `version` is required: an empty file, or one whose YAML stops in
    /// the middle of a collection (a file cut while being written), is an error that says it looks truncated.
    ///
    /// ```swift
    /// do {
    ///     let config = try ProxyConfig.load(path: "/etc/q2api/q2api.yaml")
    /// } catch {
    ///     print(error)   // one "file:line:column: key.path: message" line per problem
    /// }
    /// ```
    ///
    /// - Parameters:
    ///   - path: The configuration file's path; kept as ``sourcePath`` and used in error descriptions as given.
    ///   - environment: Variables for `${VAR}` substitution.
    ///   - readFile: Reads a whole UTF-8 file. Throw ``ConfigFileReadError`` to have its reason shown.
    /// - Returns: The validated configuration.
    /// - Throws: ``ConfigErrors`` with every problem found, in document order.
    package static func load(
        path: String,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        readFile: (String) throws -> String = ProxyConfig.defaultReadFile
    ) throws(ConfigErrors) -> ProxyConfig {
        let text: String
        do {
            text = try readFile(path)
        } catch let error as ConfigFileReadError {
            throw ConfigErrors([
                ConfigError(
                    file: path, line: 0, column: 0, keyPath: "",
                    message: "cannot read configuration file: \(error.reason)")
            ])
        } catch {
            throw ConfigErrors([
                ConfigError(file: path, line: 0, column: 0, keyPath: "", message: "cannot read configuration file")
            ])
        }
        return try self.parse(yaml: text, path: path, environment: environment, readFile: readFile)
    }

    /// Parses and validates configuration text that is already in memory.
    ///
    /// Behaves like ``load(path:environment:readFile:)`` without reading `path`, which only names the text in
    /// errors and anchors relative paths.
    ///
    /// ```swift
    /// let config = try ProxyConfig.parse(
    ///     yaml: "listeners: [{address: 127.0.0.1:9000}]",
    ///     path: "/etc/q2api/q2api.yaml",
    ///     environment: [:],
    ///     readFile: { _ in throw ConfigFileReadError(reason: "no files in tests") }
    /// )
    /// ```
    ///
    /// - Throws: ``ConfigErrors`` with every problem found, in document order.
    package static func parse(
        yaml: String,
        path: String,
        environment: [String: String] = [:],
        readFile: (String) throws -> String = ProxyConfig.defaultReadFile
    ) throws(ConfigErrors) -> ProxyConfig {
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch {
            throw ConfigErrors([Self.syntaxError(error, yaml: yaml, path: path)])
        }
        guard let root, !Truncation.isEmpty(root) else {
            throw ConfigErrors([Truncation.emptyDocument(path: path, text: yaml)])
        }
        let reader = NodeReader(file: path, environment: environment)
        let config = withoutActuallyEscaping(readFile) { readFile in
            ConfigDecoder(reader: reader, sourcePath: path, readFile: readFile).decode(root)
        }
        var errors = reader.errors
        if let truncated = Truncation.trailingEmptyValue(root, path: path) { errors.append(truncated) }
        if !errors.isEmpty {
            // Stable sort: problems found at one place keep the order in which they were found.
            let sorted = errors.enumerated().sorted { lhs, rhs in
                let left = (lhs.element.line, lhs.element.column, lhs.offset)
                let right = (rhs.element.line, rhs.element.column, rhs.offset)
                return left < right
            }
            throw ConfigErrors(sorted.map(\.element))
        }
        return config
    }

    /// Reads a UTF-8 file from disk, throwing ``ConfigFileReadError`` with a short reason.
    package static func defaultReadFile(_ path: String) throws -> String {
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        guard manager.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ConfigFileReadError(reason: "no such file")
        }
        if isDirectory.boolValue { throw ConfigFileReadError(reason: "is a directory") }
        guard manager.isReadableFile(atPath: path) else { throw ConfigFileReadError(reason: "permission denied") }
        guard let data = manager.contents(atPath: path) else { throw ConfigFileReadError(reason: "could not be read") }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigFileReadError(reason: "not UTF-8 text")
        }
        return text
    }

    /// A YAML syntax problem as a ``ConfigError`` at Yams' position. The offending line is not quoted.
    private static func syntaxError(_ error: any Error, yaml: String, path: String) -> ConfigError {
        func make(_ position: Position, _ message: String) -> ConfigError {
            ConfigError(file: path, line: position.line, column: position.column, keyPath: "", message: message)
        }
        guard let error = error as? YamlError else {
            return make(Position(line: 0, column: 0), "invalid YAML")
        }
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            var message = "invalid YAML: \(problem)"
            if let context {
                message += " (\(context.text) at line \(context.mark.line), column \(context.mark.column))"
            }
            if Self.character(at: mark, in: yaml) == "\t" {
                message += "; tabs cannot indent YAML, use spaces"
            }
            if Truncation.isAtEnd(Position(mark), of: yaml) {
                message += "; the file ends here, so \(Truncation.hint)"
            }
            return make(Position(mark), message)
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = duplicates.map { "'\($0)'" }.joined(separator: ", ")
            return make(Position(context.mark), "duplicate key \(keys) in one mapping")
        case .reader(let problem, let offset, _, _):
            return make(Self.position(ofUTF8Offset: offset, in: yaml), "invalid YAML input: \(problem)")
        case .dataCouldNotBeDecoded:
            return make(Position(line: 0, column: 0), "the file is not UTF-8 text")
        default:
            return make(Position(line: 0, column: 0), "invalid YAML")
        }
    }

    /// The Unicode scalar at a 1-based line and column, if any.
    private static func character(at mark: Mark, in text: String) -> Unicode.Scalar? {
        var line = 1
        var lineStart = text.unicodeScalars.startIndex
        var index = text.unicodeScalars.startIndex
        while line < mark.line {
            guard let newline = text.unicodeScalars[index...].firstIndex(of: "\n") else { return nil }
            index = text.unicodeScalars.index(after: newline)
            lineStart = index
            line += 1
        }
        let scalars = text.unicodeScalars[lineStart...].prefix { $0 != "\n" }
        guard mark.column >= 1, mark.column <= scalars.count else { return nil }
        return scalars[scalars.index(scalars.startIndex, offsetBy: mark.column - 1)]
    }

    private static func position(ofUTF8Offset offset: Int?, in text: String) -> Position {
        guard let offset, offset >= 0 else { return Position(line: 0, column: 0) }
        var line = 1
        var column = 1
        var consumed = 0
        for scalar in text.unicodeScalars {
            if consumed >= offset { break }
            consumed += String(scalar).utf8.count
            if scalar == "\n" {
                line += 1
                column = 1
            } else {
                column += 1
            }
        }
        return Position(line: line, column: column)
    }
}

/// A file could not be read. The reason is short and safe to show (`no such file`, `permission denied`); it
/// never contains the file's contents.
package struct ConfigFileReadError: Error, Sendable, Hashable {
    package var reason: String

    package init(reason: String) {
        self.reason = reason
    }
}
