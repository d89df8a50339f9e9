import ProxyModels

/// The Amazon Q Developer CLI's and the Kiro CLI's SQLite database (`data.sqlite3`), read-only.
///
/// Sign-ins are rows of the `auth_kv` table (`key`, `value`), each value a JSON document: a token row and, for
/// Builder ID / Identity Center, the client registration row it was made with. The CodeWhisperer profile the CLI
/// chose is in the `state` table under `api.codewhisperer.profile` (`{"arn", "profile_name"}`).
enum CLIDatabase {
    /// The token rows, each with its registration row (nil for social sign-ins). Every row present is imported
    /// (each validated by its own refresh): a database can hold more than one sign-in.
    static let rows: [(token: String, registration: String?, social: Bool)] = [
        ("kirocli:social:token", nil, true),
        ("kirocli:odic:token", "kirocli:odic:device-registration", false),
        ("codewhisperer:odic:token", "codewhisperer:odic:device-registration", false),
    ]

    static func read(_ path: String, source: String) throws(ImportError) -> [ImportCandidate] {
        _ = try CredentialSource.bytes(path)  // a clear "does not exist" before sqlite would create nothing
        let database = try SQLiteReader(path: path)
        let hasTable = try database.text("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'auth_kv'") != nil
        guard hasTable else { throw ImportError(.corrupt, "\(path) has no auth_kv table: it is not an Amazon Q or Kiro CLI database") }
        let profileARN = (try? database.text("SELECT value FROM state WHERE key = ?", "api.codewhisperer.profile"))
            .flatMap { $0 }.flatMap { try? JSONParser.parse($0) }?["arn"]?.stringValue
        var found: [ImportCandidate] = []
        for row in rows {
            guard let text = try database.text("SELECT value FROM auth_kv WHERE key = ?", row.token) else { continue }
            let origin = "\(path) (\(row.token))"
            let token = try TokenFileParser.object(Array(text.utf8), origin: origin)
            var registration: JSONValue?
            if let key = row.registration, let registrationText = try database.text("SELECT value FROM auth_kv WHERE key = ?", key) {
                registration = try TokenFileParser.object(Array(registrationText.utf8), origin: "\(path) (\(key))")
            }
            var candidate = try TokenFileParser.candidate(
                token: token, registration: registration, source: source, origin: origin, socialHint: row.social)
            candidate.format = source == "q-cli" ? "Amazon Q CLI database" : source == "kiro-cli" ? "Kiro CLI database" : "CLI database"
            // The profile the CLI chose goes with a Kiro social sign-in (a fallback for the refresh's) or an
            // Identity Center one (a start URL that is not Builder ID's); a Builder ID token (Builder ID's start URL,
            // or none) is kept without one.
            let takesProfile = candidate.credential == .kiroSocial || (candidate.startURL != nil && !candidate.isBuilderID)
            if candidate.profileARN == nil, takesProfile { candidate.profileARN = profileARN }
            found.append(candidate)
        }
        guard !found.isEmpty else {
            throw ImportError(.noCredentials, "\(path) holds no sign-in (no \(rows.map(\.token).joined(separator: ", ")) row)")
        }
        return found
    }
}
