import Foundation
import ProxyModels

/// Where `q2api import` looks for credentials: the standard places of the Kiro IDE, the Amazon Q and Kiro CLIs
/// and the AWS SSO cache, or a file named on the command line.
package enum CredentialSource: Sendable, Equatable, CustomStringConvertible {
    /// `~/.aws/sso/cache/kiro-auth-token.json` (and, for IdC, its `<clientIdHash>.json`).
    case kiroIDE
    /// The Amazon Q Developer CLI's database, `~/.local/share/amazon-q/data.sqlite3`.
    case qCLI
    /// The Kiro CLI's database, `~/.local/share/kiro-cli/data.sqlite3`.
    case kiroCLI
    /// Every token file in `~/.aws/sso/cache/` (but the Kiro IDE's) that holds a refresh token and a client.
    case ssoCache
    /// A token file (JSON, any format) or a CLI database (SQLite), told apart by their content.
    case file(String)

    /// The sources searched when none is named.
    package static let standard: [CredentialSource] = [.kiroIDE, .qCLI, .kiroCLI, .ssoCache]

    /// `kiro-ide`, `q-cli`, `kiro-cli`, `sso-cache`, or a path.
    package init(argument: String) {
        switch argument {
        case "kiro-ide": self = .kiroIDE
        case "q-cli": self = .qCLI
        case "kiro-cli": self = .kiroCLI
        case "sso-cache": self = .ssoCache
        default: self = .file(argument)
        }
    }

    package var description: String {
        switch self {
        case .kiroIDE: "kiro-ide"
        case .qCLI: "q-cli"
        case .kiroCLI: "kiro-cli"
        case .ssoCache: "sso-cache"
        case .file(let path): path
        }
    }

    /// The file this source reads, for messages ("looked in …").
    package func path(in home: SourceDirectories) -> String {
        switch self {
        case .kiroIDE: home.ssoCache + "/kiro-auth-token.json"
        case .qCLI: home.data + "/amazon-q/data.sqlite3"
        case .kiroCLI: home.data + "/kiro-cli/data.sqlite3"
        case .ssoCache: home.ssoCache
        case .file(let path): path
        }
    }

    /// The credentials this source holds.
    /// - Throws: ``ImportError``: `.missingFile` when its file is not there, `.corrupt` when it cannot be read,
    ///   `.noCredentials` when it holds none.
    package func read(in home: SourceDirectories) throws(ImportError) -> [ImportCandidate] {
        let path = path(in: home)
        switch self {
        case .kiroIDE:
            return [try Self.readTokenFile(path, source: "kiro-ide")]
        case .qCLI:
            return try CLIDatabase.read(path, source: "q-cli")
        case .kiroCLI:
            return try CLIDatabase.read(path, source: "kiro-cli")
        case .ssoCache:
            return try Self.readSSOCache(path)
        case .file(let path):
            let bytes = try Self.bytes(path)
            if bytes.starts(with: Array("SQLite format 3".utf8)) { return try CLIDatabase.read(path, source: "file") }
            return [try Self.readTokenFile(path, source: "file", bytes: bytes)]
        }
    }

    // MARK: - Files

    static func bytes(_ path: String) throws(ImportError) -> [UInt8] {
        guard FileManager.default.fileExists(atPath: path) else { throw ImportError(.missingFile, "\(path) does not exist") }
        guard let data = FileManager.default.contents(atPath: path) else { throw ImportError(.corrupt, "\(path) could not be read") }
        return Array(data)
    }

    /// A JSON token file, with the Kiro IDE's client registration file beside it when it names one.
    static func readTokenFile(_ path: String, source: String, bytes: [UInt8]? = nil) throws(ImportError) -> ImportCandidate {
        let content: [UInt8]
        if let bytes { content = bytes } else { content = try Self.bytes(path) }
        let token = try TokenFileParser.object(content, origin: path)
        var registration: JSONValue?
        if let hash = TokenFileParser.string(token, "clientIdHash"), hash.allSatisfy({ $0.isHexDigit }) {
            let clientFile = (path as NSString).deletingLastPathComponent + "/\(hash).json"
            if FileManager.default.fileExists(atPath: clientFile) {
                registration = try TokenFileParser.object(try Self.bytes(clientFile), origin: clientFile)
            }
        }
        return try TokenFileParser.candidate(token: token, registration: registration, source: source, origin: path)
    }

    /// Every usable token file in the SSO cache directory: those with a refresh token and a client (the client
    /// registration files and the Kiro IDE's token, read by ``kiroIDE``, are left out).
    static func readSSOCache(_ directory: String) throws(ImportError) -> [ImportCandidate] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else {
            throw ImportError(.missingFile, "\(directory) does not exist")
        }
        var found: [ImportCandidate] = []
        for name in names.sorted() where name.hasSuffix(".json") && name != "kiro-auth-token.json" {
            let path = directory + "/" + name
            guard let bytes = try? Self.bytes(path), let token = try? TokenFileParser.object(bytes, origin: path),
                TokenFileParser.string(token, "refreshToken") != nil, TokenFileParser.string(token, "clientId") != nil
            else { continue }
            found.append(try TokenFileParser.candidate(token: token, registration: nil, source: "sso-cache", origin: path))
        }
        guard !found.isEmpty else {
            throw ImportError(.noCredentials, "\(directory) holds no token file with a refreshToken and a clientId")
        }
        return found
    }
}

/// The directories the standard sources live in, from the environment (`HOME`, `XDG_DATA_HOME`).
package struct SourceDirectories: Sendable {
    /// `~/.aws/sso/cache`.
    package var ssoCache: String
    /// Where the CLIs keep their data: `$XDG_DATA_HOME`, else `~/.local/share` (`~/Library/Application Support`
    /// on macOS).
    package var data: String

    package init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        let home = environment["HOME"] ?? NSHomeDirectory()
        ssoCache = home + "/.aws/sso/cache"
        #if os(macOS)
            data = home + "/Library/Application Support"
        #else
            data = environment["XDG_DATA_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? home + "/.local/share"
        #endif
    }
}
