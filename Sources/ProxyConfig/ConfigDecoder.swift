import Foundation
import Yams

/// Turns the composed YAML document into a ``ProxyConfig``: defaults, conversions, `*_file` reads and the checks
/// that span several keys. Every problem goes to the ``NodeReader``; decoding always runs to the end.
///
/// What each mapping accepts and how each key is read is in one ``KeyTable`` per mapping: ``rootKeys`` (in
/// `ConfigDecoder+Root.swift`) and the tables it nests, one file per section. This file holds the readers those
/// tables share.
final class ConfigDecoder {
    let reader: NodeReader
    let sourcePath: String
    /// The directory of ``sourcePath``, which relative paths in the file are resolved against.
    let baseDirectory: String
    private let readFile: (String) throws -> String

    init(reader: NodeReader, sourcePath: String, readFile: @escaping (String) throws -> String) {
        self.reader = reader
        self.sourcePath = sourcePath
        self.baseDirectory = PathSyntax.directory(of: sourcePath)
        self.readFile = readFile
    }

    // MARK: - Document

    func decode(_ root: Node?) -> ProxyConfig {
        var draft = ConfigDraft(
            config: ProxyConfig(
                sourcePath: self.sourcePath,
                stateDirectory: PathSyntax.resolve("./state", against: self.baseDirectory)
            )
        )
        guard let root else { return draft.config }
        let rootField = Field(node: root, position: Position(root.mark), path: .root)
        if NodeReader.isNull(root) { return draft.config }
        guard case .mapping = root else {
            self.reader.report(
                "the top level must be a mapping of keys such as listeners, upstream and accounts", rootField)
            return draft.config
        }
        Self.rootKeys.read(rootField, with: self, into: &draft)
        return draft.config
    }

    // MARK: - Shared readers

    /// An http(s) URL; `what` describes the expected value in errors.
    func url(_ field: Field, what: String) -> URL? {
        guard let text = self.reader.nonEmptyString(field) else { return nil }
        switch AddressSyntax.parseHTTPURL(text.trimmingWhitespace(), what: what) {
        case .success(let url): return url
        case .failure(let error):
            self.reader.report(error.message, field)
            return nil
        }
    }

    /// A URL, or `nil` for `""`.
    func optionalURL(_ field: Field, what: String) -> URL? {
        guard let text = self.reader.string(field), !text.trimmingWhitespace().isEmpty else { return nil }
        return self.url(field, what: what)
    }

    /// A file's text through the injected reader. Errors name the path, never the contents.
    func fileText(_ path: String, _ field: Field) -> String? {
        do {
            return try self.readFile(path)
        } catch let error as ConfigFileReadError {
            self.reader.report("cannot read file '\(path)': \(error.reason)", field)
        } catch {
            self.reader.report("cannot read file '\(path)'", field)
        }
        return nil
    }

    /// A secret written inline: trimmed, not empty. Messages never include the value.
    func inlineSecret(_ field: Field) -> Secret? {
        guard let value = self.reader.string(field) else { return nil }
        let trimmed = value.trimmingWhitespace()
        guard !trimmed.isEmpty else {
            self.reader.report("must not be empty", field)
            return nil
        }
        return Secret(trimmed)
    }

    /// A secret read from the file `field` names (relative to the configuration file): its text trimmed, not empty.
    func fileSecret(_ field: Field) -> Secret? {
        guard let path = self.reader.nonEmptyString(field) else { return nil }
        let resolved = PathSyntax.resolve(path.trimmingWhitespace(), against: self.baseDirectory)
        guard let contents = self.fileText(resolved, field) else { return nil }
        let trimmed = contents.trimmingWhitespace()
        guard !trimmed.isEmpty else {
            self.reader.report("file '\(resolved)' is empty", field)
            return nil
        }
        return Secret(trimmed)
    }

    /// `"; did you mean 'x'?"` when a candidate is close to `word`, else `""`.
    func suggestion(_ word: String, _ candidates: [String]) -> String {
        Suggestion.closest(to: word, in: candidates).map { "; did you mean '\($0)'?" } ?? ""
    }
}
