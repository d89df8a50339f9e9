import Accounts
import CredentialImport
import Foundation
import Logging
import ProxyConfig
import Testing

/// A temporary `$HOME` with the files each tool writes, made the way the tools make them (SQLite through
/// python's sqlite3 module, as the CLIs' own rusqlite would).
private struct FixtureHome {
    let root: String
    var directories: SourceDirectories { SourceDirectories(environment: ["HOME": root]) }
    var cache: String { root + "/.aws/sso/cache" }

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("q2api-import-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root + "/.aws/sso/cache", withIntermediateDirectories: true)
    }

    /// `json` (one object) without its member `key`.
    static func withoutMember(_ json: String, _ key: String) -> String {
        var object = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any] ?? [:]
        object[key] = nil
        return String(decoding: (try? JSONSerialization.data(withJSONObject: object)) ?? Data(), as: UTF8.self)
    }

    func write(_ relative: String, _ text: String) throws {
        let path = root + "/" + relative
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// A CLI database with `auth_kv` rows (and a `state` table with the chosen profile when `profileARN` is set).
    func database(_ relative: String, rows: [String: String], profileARN: String? = nil, authTable: Bool = true) throws {
        let path = root + "/" + relative
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let rowsJSON = String(decoding: try JSONSerialization.data(withJSONObject: rows), as: UTF8.self)
        let script = """
            json, sqlite3, sys = __import__("json"), __import__("sqlite3"), __import__("sys")
            db = sqlite3.connect(sys.argv[1])
            if sys.argv[4] == "1":
                db.execute("CREATE TABLE auth_kv (key TEXT PRIMARY KEY, value TEXT)")
                for key, value in json.loads(sys.argv[2]).items():
                    db.execute("INSERT INTO auth_kv VALUES (?, ?)", (key, value))
            db.execute("CREATE TABLE state (key TEXT PRIMARY KEY, value BLOB)")
            if sys.argv[3]:
                db.execute("INSERT INTO state VALUES (?, ?)", ("api.codewhisperer.profile", json.dumps({"arn": sys.argv[3], "profile_name": "p"})))
            db.commit()
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, path, rowsJSON, profileARN ?? "", authTable ? "1" : "0"]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "python3 could not write the fixture database")
    }
}

private let idcToken = """
    {"accessToken":"aoaEXPIREDACCESS0000000000","refreshToken":"aorIDCREFRESH1111111111111","expiresAt":"2025-10-08T17:12:56.785Z",
     "clientIdHash":"e87895ae36d9539303a0bcd27feb465a60aeb433","authMethod":"IdC","provider":"Enterprise","region":"us-east-1"}
    """
private let idcClient = """
    {"clientId":"IDCCLIENTID0000000000001","clientSecret":"IDCCLIENTSECRET000000000001","expiresAt":"2099-12-08T14:10:50.000Z"}
    """
private let socialToken = """
    {"accessToken":"aoaSOCIALACCESS00000000","refreshToken":"aorSOCIALREFRESH2222222222","expiresAt":"2099-01-01T00:00:00.000Z",
     "authMethod":"social","provider":"Github","profileArn":"arn:aws:codewhisperer:us-east-1:699475941385:profile/EHGA3GRVQMUK"}
    """
private let cliToken = """
    {"access_token":"aoaCLIACCESS0000000000","expires_at":"2099-01-01T00:00:00Z","refresh_token":"aorCLIREFRESH33333333333",
     "region":"us-east-1","start_url":"https://view.awsapps.com/start","oauth_flow":"DeviceCode","scopes":["codewhisperer:completions"]}
    """
private let cliRegistration = """
    {"client_id":"CLICLIENTID000000000001","client_secret":"CLICLIENTSECRET0000000001","client_secret_expires_at":"2099-01-01T00:00:00Z",
     "region":"us-east-1","oauth_flow":"DeviceCode"}
    """
private let ssoCacheToken = """
    {"startUrl":"https://d-1234567890.awsapps.com/start","region":"eu-west-1","accessToken":"aoaSSOACCESS000000000",
     "expiresAt":"2025-01-01T00:00:00Z","clientId":"SSOCLIENTID000000000001","clientSecret":"SSOCLIENTSECRET00000001",
     "registrationExpiresAt":"2099-01-01T00:00:00Z","refreshToken":"aorSSOREFRESH4444444444"}
    """

/// The secrets of all fixtures: none may appear in a summary.
private let fixtureSecrets = [
    "aoaEXPIREDACCESS0000000000", "aorIDCREFRESH1111111111111", "IDCCLIENTSECRET000000000001", "aoaSOCIALACCESS00000000",
    "aorSOCIALREFRESH2222222222", "aoaCLIACCESS0000000000", "aorCLIREFRESH33333333333", "CLICLIENTSECRET0000000001",
    "aoaSSOACCESS000000000", "SSOCLIENTSECRET00000001", "aorSSOREFRESH4444444444",
]

/// A token service stand-in: accepts `valid` refresh tokens (rotating them), refuses others like `invalid_grant`.
private final class FakeTokenService: Sendable {
    let valid: Set<String>
    init(valid: Set<String>) { self.valid = valid }

    var refresher: TokenRefresher {
        { [valid] credentials throws(TokenRefreshError) in
            guard valid.contains(credentials.refreshToken) else {
                throw TokenRefreshError(isPermanent: true, message: "invalid_grant (HTTP 400): Invalid refresh token provided")
            }
            return RefreshedToken(accessToken: "aoaNEW", expiresIn: .seconds(3600), refreshToken: credentials.refreshToken + "-rotated")
        }
    }
}

private func importer(_ state: String, valid: Set<String>) -> CredentialImporter {
    CredentialImporter(
        store: AccountStateStore(directory: state), existing: ExistingAccounts(stateDirectory: state, config: nil),
        refresher: FakeTokenService(valid: valid).refresher, logger: Logger(label: "test"))
}

private func readError(_ source: CredentialSource, _ home: FixtureHome) -> ImportError? {
    do {
        _ = try source.read(in: home.directories)
        return nil
    } catch {
        return error
    }
}

@Suite("q2api import: reading each source")
struct CredentialSourceTests {
    @Test("the Kiro IDE's IdC token is read with its client registration file beside it")
    func kiroIDEIdentityCenter() throws {
        let home = try FixtureHome()
        try home.write(".aws/sso/cache/kiro-auth-token.json", idcToken)
        try home.write(".aws/sso/cache/e87895ae36d9539303a0bcd27feb465a60aeb433.json", idcClient)
        let candidates = try CredentialSource.kiroIDE.read(in: home.directories)
        #expect(candidates.count == 1)
        let candidate = try #require(candidates.first)
        #expect(candidate.credential == .oidc(clientID: "IDCCLIENTID0000000000001", clientSecret: "IDCCLIENTSECRET000000000001"))
        #expect(candidate.refreshToken == "aorIDCREFRESH1111111111111")
        #expect(candidate.region == "us-east-1")
        #expect(candidate.format == "Kiro IDE token cache")
        #expect(try #require(candidate.expiresAt) < Date())
    }

    @Test("an IdC token whose client registration file is missing says which file is missing")
    func kiroIDEMissingClientFile() throws {
        let home = try FixtureHome()
        try home.write(".aws/sso/cache/kiro-auth-token.json", idcToken)
        let error = try #require(readError(.kiroIDE, home))
        #expect(error.kind == .missingFile)
        #expect(error.message.contains("e87895ae36d9539303a0bcd27feb465a60aeb433.json"))
    }

    @Test("a Kiro social sign-in is read as a Kiro credential with its profile ARN")
    func kiroIDESocial() throws {
        let home = try FixtureHome()
        try home.write(".aws/sso/cache/kiro-auth-token.json", socialToken)
        let candidate = try #require(try CredentialSource.kiroIDE.read(in: home.directories).first)
        #expect(candidate.credential == .kiroSocial)
        #expect(candidate.kind == "kiro")
        #expect(candidate.profileARN == "arn:aws:codewhisperer:us-east-1:699475941385:profile/EHGA3GRVQMUK")
    }

    @Test("the Amazon Q CLI database's Builder ID token row is read with its device registration and without the chosen profile")
    func amazonQCLIDatabase() throws {
        let home = try FixtureHome()
        try home.database(
            ".local/share/amazon-q/data.sqlite3",
            rows: ["codewhisperer:odic:token": cliToken, "codewhisperer:odic:device-registration": cliRegistration],
            profileARN: "arn:aws:codewhisperer:us-east-1:123456789012:profile/QPROFILE")
        let candidates = try CredentialSource.qCLI.read(in: home.directories)
        #expect(candidates.count == 1)
        let candidate = try #require(candidates.first)
        #expect(candidate.credential == .oidc(clientID: "CLICLIENTID000000000001", clientSecret: "CLICLIENTSECRET0000000001"))
        #expect(candidate.refreshToken == "aorCLIREFRESH33333333333")
        #expect(candidate.startURL == "https://view.awsapps.com/start")
        #expect(candidate.isBuilderID)
        // Builder ID tokens carry no profile; the service is reported to refuse Builder ID requests naming one.
        #expect(candidate.profileARN == nil)
        #expect(candidate.origin.hasSuffix("(codewhisperer:odic:token)"))
    }

    @Test("an Identity Center sign-in in a CLI database gets the profile the CLI chose; a row without a start URL does not")
    func cliDatabaseProfileGoesToIdentityCenter() throws {
        let home = try FixtureHome()
        let idc = cliToken.replacingOccurrences(of: "https://view.awsapps.com/start", with: "https://d-1234567890.awsapps.com/start")
        try home.database(
            ".local/share/amazon-q/data.sqlite3",
            rows: ["codewhisperer:odic:token": idc, "codewhisperer:odic:device-registration": cliRegistration],
            profileARN: "arn:aws:codewhisperer:us-east-1:123456789012:profile/QPROFILE")
        let candidate = try #require(try CredentialSource.qCLI.read(in: home.directories).first)
        #expect(!candidate.isBuilderID)
        #expect(candidate.profileARN == "arn:aws:codewhisperer:us-east-1:123456789012:profile/QPROFILE")

        let bare = FixtureHome.withoutMember(cliToken, "start_url")
        try FileManager.default.removeItem(atPath: home.root + "/.local/share/amazon-q/data.sqlite3")
        try home.database(
            ".local/share/amazon-q/data.sqlite3",
            rows: ["codewhisperer:odic:token": bare, "codewhisperer:odic:device-registration": cliRegistration],
            profileARN: "arn:aws:codewhisperer:us-east-1:123456789012:profile/QPROFILE")
        let noStartURL = try #require(try CredentialSource.qCLI.read(in: home.directories).first)
        #expect(noStartURL.startURL == nil)
        #expect(noStartURL.profileARN == nil)
    }

    @Test("a Builder ID sign-in is saved without a profile ARN, an Identity Center one with its own")
    func builderIDAccountHasNoProfile() async throws {
        let home = try FixtureHome()
        let state = home.root + "/state"
        let builderID = ImportCandidate(
            source: "builder", origin: "test", format: "CLI database token",
            credential: .oidc(clientID: "CLIENTBUILDER0000000001", clientSecret: "SECRETBUILDER0000000001"), refreshToken: "aorCLIREFRESH33333333333",
            profileARN: "arn:aws:codewhisperer:us-east-1:123456789012:profile/STALE", startURL: "https://view.awsapps.com/start/")
        var identityCenter = builderID
        identityCenter.source = "idc"
        identityCenter.credential = .oidc(clientID: "CLIENTIDC00000000000001", clientSecret: "SECRETIDC00000000000001")
        identityCenter.refreshToken = "aorSSOREFRESH4444444444"
        identityCenter.startURL = "https://d-1234567890.awsapps.com/start"
        identityCenter.profileARN = "arn:aws:codewhisperer:us-east-1:123456789012:profile/IDC"
        let importer = importer(state, valid: ["aorCLIREFRESH33333333333", "aorSSOREFRESH4444444444"])
        #expect(await importer.run(importer.plan([builderID, identityCenter])) == [.imported(accountID: "builder"), .imported(accountID: "idc")])
        let saved = AccountStateStore.load(directory: state)
        #expect(saved["builder"]?.account?.profileARN == nil)
        #expect(saved["idc"]?.account?.profileARN == "arn:aws:codewhisperer:us-east-1:123456789012:profile/IDC")
    }

    @Test("a refused refresh of a sign-in made in another region than upstream.oidc_endpoint's names both regions")
    func refusedRefreshNamesTheRegionMismatch() async throws {
        let home = try FixtureHome()
        try home.write(".aws/sso/cache/session.json", ssoCacheToken)
        let state = home.root + "/state"
        let importer = CredentialImporter(
            store: AccountStateStore(directory: state), existing: ExistingAccounts(stateDirectory: state, config: nil),
            refresher: FakeTokenService(valid: []).refresher,
            oidcRegion: CredentialImporter.region(ofOIDCEndpoint: URL(string: "https://oidc.us-east-1.amazonaws.com")!), logger: Logger(label: "test")
        )
        let outcomes = await importer.run(importer.plan(try CredentialSource.ssoCache.read(in: home.directories)))
        guard case .failed(let error) = try #require(outcomes.first) else {
            Issue.record("expected a refused import, got \(outcomes)")
            return
        }
        #expect(error.kind == .refused)
        #expect(error.message.contains("eu-west-1"))
        #expect(error.message.contains("us-east-1"))
        #expect(error.message.contains("https://oidc.eu-west-1.amazonaws.com"))
        #expect(!error.message.contains("aorSSOREFRESH4444444444"))
        #expect(CredentialImporter.region(ofOIDCEndpoint: URL(string: "http://127.0.0.1:8080")!) == nil)
        #expect(AccountStateStore.load(directory: state).isEmpty)
    }

    @Test("a CLI database locked by its CLI is reported as in use, not as corrupt")
    func lockedDatabaseIsInUse() throws {
        let home = try FixtureHome()
        let relative = ".local/share/amazon-q/data.sqlite3"
        try home.database(relative, rows: ["codewhisperer:odic:token": cliToken, "codewhisperer:odic:device-registration": cliRegistration])
        // A writer holding an exclusive lock, as a CLI in the middle of a write does (python's sqlite3 module).
        let ready = home.root + "/locked"
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        holder.arguments = [
            "python3", "-c",
            """
            sqlite3, sys, time = __import__("sqlite3"), __import__("sys"), __import__("time")
            db = sqlite3.connect(sys.argv[1], isolation_level=None)
            db.execute("BEGIN EXCLUSIVE")
            open(sys.argv[2], "w").close()
            time.sleep(30)
            """,
            home.root + "/" + relative, ready,
        ]
        try holder.run()
        defer { holder.terminate() }
        for _ in 0..<500 where !FileManager.default.fileExists(atPath: ready) { Thread.sleep(forTimeInterval: 0.02) }
        #expect(FileManager.default.fileExists(atPath: ready))
        let error = readError(.qCLI, home)
        #expect(error?.kind == .inUse)
        #expect(error?.message.contains("retry") == true)
    }

    @Test("the Kiro CLI database yields its OIDC sign-in and its social sign-in")
    func kiroCLIDatabase() throws {
        let home = try FixtureHome()
        try home.database(
            ".local/share/kiro-cli/data.sqlite3",
            rows: [
                "kirocli:odic:token": cliToken, "kirocli:odic:device-registration": cliRegistration,
                "kirocli:social:token": #"{"access_token":"a","refresh_token":"aorKIROCLISOCIAL555555","expires_at":"2099-01-01T00:00:00Z"}"#,
            ])
        let candidates = try CredentialSource.kiroCLI.read(in: home.directories)
        #expect(candidates.map(\.kind) == ["kiro", "oidc"])
        #expect(candidates.allSatisfy { $0.format == "Kiro CLI database" })
    }

    @Test("the SSO cache yields token files with a client, not client registration files nor the Kiro IDE's token")
    func ssoCache() throws {
        let home = try FixtureHome()
        try home.write(".aws/sso/cache/0123456789abcdef0123456789abcdef01234567.json", ssoCacheToken)
        try home.write(".aws/sso/cache/e87895ae36d9539303a0bcd27feb465a60aeb433.json", idcClient)
        try home.write(".aws/sso/cache/kiro-auth-token.json", idcToken)
        let candidates = try CredentialSource.ssoCache.read(in: home.directories)
        #expect(candidates.count == 1)
        #expect(candidates.first?.credential == .oidc(clientID: "SSOCLIENTID000000000001", clientSecret: "SSOCLIENTSECRET00000001"))
        #expect(candidates.first?.region == "eu-west-1")
        #expect(candidates.first?.format == "AWS SSO cache")
    }

    @Test("a missing file is reported as missing for every source")
    func missingFiles() throws {
        let home = try FixtureHome()
        try FileManager.default.removeItem(atPath: home.cache)
        for source in CredentialSource.standard + [.file(home.root + "/nothing.json")] {
            #expect(readError(source, home)?.kind == .missingFile, "\(source)")
        }
    }

    @Test("a corrupt JSON file, a file that is not a database, and a database without auth_kv are corrupt")
    func corruptFiles() throws {
        let home = try FixtureHome()
        try home.write(".aws/sso/cache/kiro-auth-token.json", "{\"accessToken\": ")
        #expect(readError(.kiroIDE, home)?.kind == .corrupt)
        try home.write(".local/share/amazon-q/data.sqlite3", "SQLite format 3\u{0}but not really a database at all, just text")
        let notADatabase = try #require(readError(.qCLI, home))
        #expect(notADatabase.kind == .corrupt)
        #expect(notADatabase.message.contains("SQLite"))
        try home.database(".local/share/kiro-cli/data.sqlite3", rows: [:], authTable: false)
        let noTable = try #require(readError(.kiroCLI, home))
        #expect(noTable.kind == .corrupt)
        #expect(noTable.message.contains("auth_kv"))
    }

    @Test("a CLI database without a sign-in holds no credentials")
    func emptyDatabase() throws {
        let home = try FixtureHome()
        try home.database(".local/share/amazon-q/data.sqlite3", rows: ["unrelated": "{}"])
        #expect(readError(.qCLI, home)?.kind == .noCredentials)
    }

    @Test("a file named on the command line is told apart by its content: JSON token file or SQLite database")
    func namedFiles() throws {
        let home = try FixtureHome()
        try home.write("token.json", ssoCacheToken)
        try home.database("copy.sqlite3", rows: ["codewhisperer:odic:token": cliToken, "codewhisperer:odic:device-registration": cliRegistration])
        #expect(try CredentialSource.file(home.root + "/token.json").read(in: home.directories).first?.format == "AWS SSO cache")
        #expect(try CredentialSource.file(home.root + "/copy.sqlite3").read(in: home.directories).first?.format == "CLI database")
    }

    @Test("a summary shows no secret: fingerprints and masks only")
    func summaryRedacts() throws {
        let home = try FixtureHome()
        try home.write(".aws/sso/cache/kiro-auth-token.json", idcToken)
        try home.write(".aws/sso/cache/e87895ae36d9539303a0bcd27feb465a60aeb433.json", idcClient)
        try home.write(".aws/sso/cache/0123456789abcdef0123456789abcdef01234567.json", ssoCacheToken)
        let candidates = try CredentialSource.kiroIDE.read(in: home.directories) + CredentialSource.ssoCache.read(in: home.directories)
        let text = candidates.flatMap { $0.summary() }.joined(separator: "\n")
        for secret in fixtureSecrets { #expect(!text.contains(secret)) }
        #expect(text.contains("IDCC…0001"))
        #expect(text.contains("expired"))
    }
}

@Suite("q2api import: refresh, then save")
struct CredentialImporterTests {
    private func candidates(_ home: FixtureHome) throws -> [ImportCandidate] {
        try home.write(".aws/sso/cache/kiro-auth-token.json", idcToken)
        try home.write(".aws/sso/cache/e87895ae36d9539303a0bcd27feb465a60aeb433.json", idcClient)
        return try CredentialSource.kiroIDE.read(in: home.directories)
    }

    @Test("an expired access token is refreshed and the account saved with the rotated token, as a device login saves one")
    func expiredTokenIsRefreshed() async throws {
        let home = try FixtureHome()
        let state = home.root + "/state"
        let importer = importer(state, valid: ["aorIDCREFRESH1111111111111"])
        let plan = importer.plan(try candidates(home))
        #expect(plan.map(\.action) == [.add(accountID: "kiro-ide")])
        #expect(await importer.run(plan) == [.imported(accountID: "kiro-ide")])
        let saved = try #require(AccountStateStore.load(directory: state)["kiro-ide"])
        #expect(saved.account?.clientID.value == "IDCCLIENTID0000000000001")
        #expect(saved.account?.refreshToken.value == "aorIDCREFRESH1111111111111")
        #expect(saved.token?.refreshToken.value == "aorIDCREFRESH1111111111111-rotated")
        #expect(saved.token?.source == RefreshTokenFingerprint.of("aorIDCREFRESH1111111111111"))
    }

    @Test("a refused refresh writes nothing and says so")
    func refusedRefreshWritesNothing() async throws {
        let home = try FixtureHome()
        let state = home.root + "/state"
        let importer = importer(state, valid: [])
        let outcomes = await importer.run(importer.plan(try candidates(home)))
        guard case .failed(let error) = try #require(outcomes.first) else {
            Issue.record("expected a failure, got \(outcomes)")
            return
        }
        #expect(error.kind == .refused)
        #expect(error.message.contains("nothing was written"))
        #expect(AccountStateStore.load(directory: state).isEmpty)
    }

    @Test("planning (the dry run) neither refreshes nor writes")
    func planWritesNothing() throws {
        let home = try FixtureHome()
        let state = home.root + "/state"
        let plan = CredentialImporter(
            store: AccountStateStore(directory: state), existing: ExistingAccounts(stateDirectory: state, config: nil),
            refresher: { _ throws(TokenRefreshError) in
                Issue.record("a dry run must not refresh")
                throw TokenRefreshError(isPermanent: true, message: "no")
            }, logger: Logger(label: "test")
        ).plan(try candidates(home))
        #expect(plan.map(\.action) == [.add(accountID: "kiro-ide")])
        #expect(!FileManager.default.fileExists(atPath: state))
    }

    @Test("importing the same credentials again adds no second account, even after the refresh token rotated")
    func reimportIsRecognised() async throws {
        let home = try FixtureHome()
        let state = home.root + "/state"
        let first = importer(state, valid: ["aorIDCREFRESH1111111111111"])
        _ = await first.run(first.plan(try candidates(home)))
        let again = importer(state, valid: ["aorIDCREFRESH1111111111111"])
        #expect(again.plan(try candidates(home)).map(\.action) == [.alreadyPresent(accountID: "kiro-ide")])
        // The IDE refreshed meanwhile: a new refresh token, the same client registration.
        try home.write(".aws/sso/cache/kiro-auth-token.json", idcToken.replacingOccurrences(of: "aorIDCREFRESH1111111111111", with: "aorIDCNEW"))
        #expect(again.plan(try candidates(home)).map(\.action) == [.alreadyPresent(accountID: "kiro-ide")])
        #expect(AccountStateStore.load(directory: state).count == 1)
    }

    @Test("a Kiro social sign-in becomes a kind: kiro account without a client, with the profile ARN its refresh returned")
    func socialBecomesKiroAccount() async throws {
        let home = try FixtureHome()
        try home.write(".aws/sso/cache/kiro-auth-token.json", socialToken)
        let state = home.root + "/state"
        let refresher: TokenRefresher = { credentials throws(TokenRefreshError) in
            guard credentials.kind == .kiro, credentials.clientID.isEmpty, credentials.refreshToken == "aorSOCIALREFRESH2222222222" else {
                throw TokenRefreshError(isPermanent: true, message: "invalid_grant")
            }
            return RefreshedToken(
                accessToken: "aoaKIRO", expiresIn: .seconds(3600), refreshToken: "aorSOCIALROTATED",
                profileARN: "arn:aws:codewhisperer:us-east-1:699475941385:profile/FROMREFRESH")
        }
        let importer = CredentialImporter(
            store: AccountStateStore(directory: state), existing: ExistingAccounts(stateDirectory: state, config: nil), refresher: refresher,
            logger: Logger(label: "test"))
        let outcomes = await importer.run(importer.plan(try CredentialSource.kiroIDE.read(in: home.directories)))
        #expect(outcomes == [.imported(accountID: "kiro-ide")])
        let saved = try #require(AccountStateStore.load(directory: state)["kiro-ide"])
        #expect(saved.account?.kind == .kiro)
        #expect(saved.account?.clientID.value == "")
        #expect(saved.account?.profileARN == nil)
        #expect(saved.token?.refreshToken.value == "aorSOCIALROTATED")
        #expect(saved.token?.profileARN == "arn:aws:codewhisperer:us-east-1:699475941385:profile/FROMREFRESH")
    }
}
