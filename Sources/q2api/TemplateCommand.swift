import ArgumentParser
import Translation

/// Prints the built-in request template, the starting point for `upstream.template`.
struct TemplateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "template", abstract: "Print the built-in Amazon Q request template.")

    func run() throws {
        print(RequestTemplate.builtInSource)
    }
}
