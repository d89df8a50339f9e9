/// One problem found while loading `q2api.yaml`, with the place it was found.
///
/// The description has the compiler-like shape `file:line:column: key.path: message`, for example
/// `q2api.yaml:12:5: accounts[0].weight: must be an integer >= 1`. Parts that are unknown are left out
/// (`line` and `column` are 0 when the problem has no position, such as an unreadable file; `keyPath` is empty
/// for problems with the document as a whole). Messages never contain secret values.
package struct ConfigError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The configuration file's path, as given to ``ProxyConfig/load(path:environment:readFile:)``.
    package var file: String
    /// 1-based line, or 0 when unknown.
    package var line: Int
    /// 1-based column (counted in Unicode scalars), or 0 when unknown.
    package var column: Int
    /// Where in the document the problem is, for example `accounts[0].weight` or `models.aliases.gpt-4o`.
    package var keyPath: String
    /// What is wrong, and where it helps, how to fix it.
    package var message: String

    package init(file: String, line: Int, column: Int, keyPath: String, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.keyPath = keyPath
        self.message = message
    }

    package var description: String {
        var text = self.file
        if self.line > 0 {
            text += ":\(self.line)"
            if self.column > 0 { text += ":\(self.column)" }
        }
        text += ": "
        if !self.keyPath.isEmpty { text += "\(self.keyPath): " }
        return text + self.message
    }
}

/// Every problem found in one load of `q2api.yaml`.
///
/// Loading does not stop at the first problem: it reports as many as it can find, in document order.
///
/// ```swift
/// do {
///     let config = try ProxyConfig.load(path: "q2api.yaml")
/// } catch {
///     for problem in error.errors { print(problem) }
/// }
/// ```
package struct ConfigErrors: Error, Sendable, Hashable, CustomStringConvertible {
    /// The problems, sorted by line and column. Never empty when thrown.
    package var errors: [ConfigError]

    package init(_ errors: [ConfigError]) {
        self.errors = errors
    }

    /// One problem per line.
    package var description: String {
        self.errors.map(\.description).joined(separator: "\n")
    }
}
