import Accounts
import ArgumentParser
import CredentialImport
import Foundation
import Logging
import ProxyConfig
import ProxyServer
import Translation
import Upstream

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Imports credentials that are already on the machine (the Kiro IDE's token cache, the Amazon Q / Kiro CLI's
/// database, AWS SSO cache files) as run-time accounts, as `q2api login` adds one: each is validated by a token
/// refresh first, and only then appended to the state directory, where a running server picks it up.
struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import the credentials of the Kiro IDE, the Amazon Q / Kiro CLI or the AWS SSO cache as accounts.",
        discussion: """
            Without --from, the standard places under $HOME are searched: ~/.aws/sso/cache/kiro-auth-token.json (kiro-ide), \
            ~/.local/share/amazon-q/data.sqlite3 (q-cli), ~/.local/share/kiro-cli/data.sqlite3 (kiro-cli) and \
            ~/.aws/sso/cache/*.json (sso-cache). Builder ID and Identity Center sign-ins become kind: oidc accounts, \
            Kiro social sign-ins (Google, GitHub) kind: kiro accounts. Each set of credentials is refreshed once before it is saved; \
            nothing is written for credentials the token service refuses. --dry-run shows what would be imported, \
            secrets redacted, and neither refreshes nor writes anything.
            """)

    @OptionGroup var options: ConfigOptions

    @Option(help: "The state directory to add the accounts to (default: state_dir of the config).")
    var stateDir: String?

    @Option(
        name: .customLong("from"),
        help: "kiro-ide, q-cli, kiro-cli, sso-cache or the path of a token file or CLI database; repeat for several.")
    var sources: [String] = []

    @Option(help: "The label (and id stem) of the new accounts (default: the source's name).")
    var label: String?

    @Flag(help: "Show what would be imported, secrets redacted; refresh and write nothing.")
    var dryRun = false

    func run() async throws {
        LoggingBootstrap.bootstrap(level: "warning", format: "text")
        let logger = Logger(label: "q2api.import")
        let config: ProxyConfig
        do {
            config = try ProxyConfig.load(path: options.config)
        } catch {
            ConfigLoading.printErrors(error)
            throw ExitCode(1)
        }
        let stateDirectory = stateDir ?? config.stateDirectory

        // 1. Read every source; a missing standard place is no error when none was named.
        let named = !sources.isEmpty
        let directories = SourceDirectories()
        var candidates: [ImportCandidate] = []
        var failed = false
        var lookedIn: [String] = []
        for source in named ? sources.map(CredentialSource.init(argument:)) : CredentialSource.standard {
            do {
                candidates += try source.read(in: directories)
            } catch {
                if !named, error.kind == .missingFile || error.kind == .noCredentials {
                    lookedIn.append(source.path(in: directories))
                    continue
                }
                if case .file = source { Self.printError(error.message) } else { Self.printError("\(source): \(error.message)") }
                failed = true
            }
        }
        if candidates.isEmpty {
            if !failed {
                Self.printError(
                    "no credentials found; looked in:\n" + lookedIn.map { "  \($0)" }.joined(separator: "\n")
                        + "\nname a token file or database with --from PATH")
            }
            throw ExitCode(1)
        }

        // 2. Plan (no network, no write), then refresh and save.
        // The server's refresher: OIDC sign-ins at upstream.oidc_endpoint, Kiro ones at Kiro's auth service.
        let clients = try UpstreamClients(
            settings: .init(connectTimeout: config.upstream.connectTimeout, readTimeout: .seconds(60), proxy: config.upstream.proxy?.absoluteString))
        let importer = CredentialImporter(
            store: AccountStateStore(directory: stateDirectory, logger: logger),
            existing: ExistingAccounts(stateDirectory: stateDirectory, config: config),
            refresher: AccountTokenRefresher.make(
                upstream: config.upstream, clients: clients, kiroVersion: ((try? config.compiledTemplate()) ?? .builtIn).kiroVersion, logger: logger),
            oidcRegion: CredentialImporter.region(ofOIDCEndpoint: config.upstream.oidcEndpoint), logger: logger)
        let steps = importer.plan(candidates, label: label)
        var outcomes: [CredentialImporter.Outcome] = []
        if !dryRun {
            signal(SIGINT, SIG_IGN)  // a refresh may rotate the token: finish saving what it returned
            outcomes = await importer.run(steps, label: label)
            signal(SIGINT, SIG_DFL)
        }
        await clients.shutdown()

        // 3. Report.
        var text = ""
        for (index, step) in steps.enumerated() {
            text += step.candidate.source + "\n"
            for line in step.candidate.summary() { text += "  \(line)\n" }
            let outcome = dryRun ? nil : outcomes[index]
            switch (step.action, outcome) {
            case (.alreadyPresent(let id), _):
                text += "  = already imported as account \(id); nothing to do\n"
            case (.add(let id), nil):
                text += "  + would import as account \(id) (after a successful refresh)\n"
            case (.add, .imported(let id)?):
                text += "  + imported as account \(id) into \(stateDirectory)/\(id).jsonl; a running server picks it up within seconds\n"
            case (.add, .failed(let error)?):
                text += "  ! not imported: \(error.message)\n"
                failed = true
            case (.add, .alreadyPresent(let id)?):
                text += "  = already imported as account \(id)\n"
            }
        }
        FileHandle.standardOutput.write(Data(text.utf8))
        if dryRun { FileHandle.standardOutput.write(Data("dry run: nothing was refreshed or written\n".utf8)) }
        if failed { throw ExitCode(1) }
    }

    private static func printError(_ message: String) {
        FileHandle.standardError.write(Data("import: \(message)\n".utf8))
    }
}
