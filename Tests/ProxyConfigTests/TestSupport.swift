import Foundation
import ProxyConfig
import Testing

/// The path every test configuration claims to live at; relative paths resolve against `/etc/q2api`.
let configPath = "/etc/q2api/q2api.yaml"

/// An in-memory file system for `readFile`: a missing path throws like the real reader.
struct FakeFiles {
    var files: [String: String] = [:]

    func read(_ path: String) throws -> String {
        guard let text = self.files[path] else { throw ConfigFileReadError(reason: "no such file") }
        return text
    }
}

/// Parses `yaml` at ``configPath`` with the given environment and files.
func load(_ yaml: String, environment: [String: String] = [:], files: [String: String] = [:]) throws(ConfigErrors)
    -> ProxyConfig
{
    let fake = FakeFiles(files: files)
    return try ProxyConfig.parse(yaml: versioned(yaml), path: configPath, environment: environment, readFile: fake.read)
}

/// `yaml` with `version: 1` added at its end, so tests can write fragments (`version` is required) and their
/// line numbers stay as written. Text that has a top-level `version`, is blank, or is not a block mapping is
/// left alone.
func versioned(_ yaml: String) -> String {
    if yaml.split(separator: "\n").contains(where: { $0.hasPrefix("version:") }) { return yaml }
    guard let first = yaml.split(separator: "\n").first(where: { !$0.trimmingCharacters(in: .whitespaces).isEmpty && !$0.hasPrefix("#") }),
        let head = first.first, head != "{", head != "[", head != "-", head != " ", first.contains(":")
    else { return yaml }
    return yaml + (yaml.hasSuffix("\n") ? "" : "\n") + "version: 1\n"
}

/// The errors loading `yaml` produces; records a test failure if it loads.
func loadErrors(
    _ yaml: String,
    environment: [String: String] = [:],
    files: [String: String] = [:],
    sourceLocation: SourceLocation = #_sourceLocation
) -> [ConfigError] {
    do {
        let config = try load(yaml, environment: environment, files: files)
        Issue.record(
            "expected errors, got a configuration:\n\(config.redactedSummary())", sourceLocation: sourceLocation)
        return []
    } catch {
        return error.errors
    }
}

/// The single error loading `yaml` produces.
func loadError(
    _ yaml: String,
    environment: [String: String] = [:],
    files: [String: String] = [:],
    sourceLocation: SourceLocation = #_sourceLocation
) throws -> ConfigError {
    let errors = loadErrors(yaml, environment: environment, files: files, sourceLocation: sourceLocation)
    #expect(errors.count == 1, "\(errors)", sourceLocation: sourceLocation)
    return try #require(errors.first, sourceLocation: sourceLocation)
}

/// A minimal valid account entry with inline credentials, indented for a block list under `accounts:`.
func accountYAML(id: String, extra: String = "") -> String {
    var text = """
          - id: \(id)
            client_id: cid-\(id)
            client_secret: csecret-\(id)
            refresh_token: rtoken-\(id)

        """
    if !extra.isEmpty { text += extra.split(separator: "\n").map { "    \($0)\n" }.joined() }
    return text
}
