import ArgumentParser
import ProxyConfig

/// Validates a config without starting anything: prints `ok` (and a summary without secrets)
/// or every error with file, line and column; exits 0 or 1. Meant for CI and `ExecStartPre`.
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "check", abstract: "Validate a config file and exit 0 (ok) or 1.")

    @OptionGroup var options: ConfigOptions

    @Flag(name: .shortAndLong, help: "Also print a summary of the loaded config (secrets redacted).")
    var verbose = false

    func run() throws {
        switch ConfigLoading.load(options.config) {
        case .success(let (config, _)):
            print("ok")
            if verbose { print(config.redactedSummary()) }
        case .failure(let errors):
            ConfigLoading.printErrors(errors)
            throw ExitCode(1)
        }
    }
}
