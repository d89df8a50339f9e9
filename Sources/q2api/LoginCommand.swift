import Accounts
import ArgumentParser
import Foundation
import Logging
import ProxyConfig
import Upstream

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Adds an account by AWS device-code login (Builder ID or IAM Identity Center): prints a link and a code,
/// waits for the approval, and appends the new account to the state directory, where a running server picks it
/// up by itself. Nothing is written before the login succeeds, and each record is written whole, so Ctrl-C
/// at any point leaves the state directory as it was (or with the complete account).
struct LoginCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "login",
        abstract: "Add an account by device-code login; it is saved in the state directory and picked up live.")

    @OptionGroup var options: ConfigOptions

    @Option(help: "A human name for the account; its id is derived from it.")
    var label: String?

    @Option(help: "The account id (default: from the label).")
    var id: String?

    @Option(help: "The IAM Identity Center start URL (default: AWS Builder ID).")
    var startURL: String = OIDCClient.builderIDStartURL

    @Option(help: "The AWS region of the OIDC service (default: upstream.oidc_endpoint of the config).")
    var region: String?

    @Flag(help: "Save the account disabled.")
    var disabled = false

    func run() async throws {
        LoggingBootstrap.bootstrap(level: "warning", format: "text")
        let logger = Logger(label: "q2api.login")
        let config: ProxyConfig
        do {
            config = try ProxyConfig.load(path: options.config)
        } catch {
            ConfigLoading.printErrors(error)
            throw ExitCode(1)
        }
        var endpoint = config.upstream.oidcEndpoint.absoluteString
        if let region {
            guard ProxyConfig.Account.isValidRegion(region) else { throw ValidationError("--region must look like us-east-1") }
            endpoint = "https://oidc.\(region).amazonaws.com"
        }
        var taken = Set(config.accounts.map(\.id))
        taken.formUnion(AccountStateStore.load(directory: config.stateDirectory).keys)
        let accountID: String
        if let id {
            guard ProxyConfig.Account.isValidID(id) else { throw ValidationError("--id must be \(ProxyConfig.Account.idRule)") }
            guard !taken.contains(id) else { throw ValidationError("an account with id \(id) already exists") }
            accountID = id
        } else {
            accountID = AccountStateStore.accountID(fromLabel: label ?? "device", taken: taken)
        }

        let http = try UpstreamHTTPClient(
            settings: .init(connectTimeout: config.upstream.connectTimeout, readTimeout: .seconds(60), proxy: config.upstream.proxy?.absoluteString))
        let oidc = OIDCClient(http: http)
        do {
            let registration = try await oidc.registerClient(endpoint: endpoint, logger: logger)
            let authorization = try await oidc.startDeviceAuthorization(
                endpoint: endpoint, registration: registration, startURL: startURL, logger: logger)
            // Written straight to the descriptor: print() would sit in a buffer when stdout is a pipe.
            FileHandle.standardOutput.write(
                Data(
                    """
                    To add this account, open:

                        \(authorization.verificationURIComplete)

                    and check that the page shows the code \(authorization.userCode)
                    (or open \(authorization.verificationURI) and type it). Waiting up to \(authorization.expiresIn / 60) min…

                    """.utf8))
            let grant = try await oidc.waitForDeviceToken(
                endpoint: endpoint, registration: registration, authorization: authorization, logger: logger)
            guard let refreshToken = grant.refreshToken else {
                throw ValidationError("the login returned no refresh token; nothing was saved")
            }
            // From here on, finish the two appends even on Ctrl-C.
            signal(SIGINT, SIG_IGN)
            let store = AccountStateStore(directory: config.stateDirectory, logger: logger)
            try store.saveNewAccount(
                id: accountID, label: label ?? accountID, clientID: registration.clientID, clientSecret: registration.clientSecret,
                profileARN: nil, region: region,
                tokens: NewAccountTokens(
                    seedRefreshToken: refreshToken, currentRefreshToken: refreshToken, accessToken: grant.accessToken,
                    expiresAt: Date().addingTimeInterval(Double(grant.expiresIn))))
            if disabled { try store.appendStatus(accountID: accountID, state: "disabled", reason: "created disabled", by: .operator) }
            signal(SIGINT, SIG_DFL)
            print("Added account \(accountID) to \(config.stateDirectory)/\(accountID).jsonl; a running server picks it up within seconds.")
        } catch let error as OIDCError {
            FileHandle.standardError.write(Data("login failed: \(error)\nnothing was saved\n".utf8))
            try? await http.shutdown()
            throw ExitCode(1)
        } catch {
            try? await http.shutdown()
            throw error
        }
        try? await http.shutdown()
    }
}
