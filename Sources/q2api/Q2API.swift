import ArgumentParser

/// The `q2api` command: `serve` (the default), `check`, `simulate`, `explain`, `template`, `accounts`.
@main
struct Q2API: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "q2api",
        abstract: "A Claude Messages and OpenAI Chat Completions API in front of Amazon Q Developer accounts.",
        subcommands: [
            ServeCommand.self, CheckCommand.self, SimulateCommand.self, ExplainCommand.self, TemplateCommand.self, AccountsCommand.self,
            LoginCommand.self, ImportCommand.self, UsageCommand.self, BenchCommand.self,
        ],
        defaultSubcommand: ServeCommand.self)
}

/// Options every command that reads the config shares.
struct ConfigOptions: ParsableArguments {
    @Option(name: [.short, .customLong("config")], help: "Path to the YAML config file.")
    var config: String = "q2api.yaml"
}
