import ArgumentParser
import Foundation
import ProxyConfig
import ProxyModels
import Translation

/// Shows what a Claude request becomes upstream and every repair applied on the way.
struct ExplainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain", abstract: "Print the Amazon Q payload a Claude request becomes, and every repair applied.")

    @Argument(help: "A Claude Messages request body (JSON file), or - for standard input.")
    var file: String

    @Option(name: [.short, .customLong("config")], help: "Config for model names and the template (defaults apply when it does not exist).")
    var config: String = "q2api.yaml"

    func run() throws {
        let data: Data
        do {
            data = file == "-" ? FileHandle.standardInput.readDataToEndOfFile() : try Data(contentsOf: URL(fileURLWithPath: file))
        } catch {
            throw ValidationError("cannot read \(file): \(error.localizedDescription)")
        }
        var models = ProxyConfig.Models()
        var template = RequestTemplate.builtIn
        var contextTokens = 200_000
        if FileManager.default.fileExists(atPath: config) {
            switch ConfigLoading.load(config) {
            case .success(let (loaded, compiled)):
                models = loaded.models
                template = compiled
                contextTokens = loaded.limits.contextTokens
            case .failure(let errors):
                ConfigLoading.printErrors(errors)
                throw ExitCode(1)
            }
        }
        do {
            let body = try JSONParser.parse(Array(data))
            var conversation = try ClaudeRequestDecoder.decode(body)
            let resolution = models.resolveModel(conversation.model)
            guard let modelID = resolution.upstreamID else {
                throw ValidationError("model \(conversation.model) is not served (models.unknown is reject)")
            }
            if resolution.thinking && conversation.thinking == nil { conversation.thinking = .enabled(budgetTokens: 16_000) }
            var counter = 0
            let plan = try UpstreamRequestBuilder.build(
                conversation, template: template,
                options: .init(
                    modelID: modelID, maximumInputTokens: contextTokens, currentTime: "Monday, 2026-01-19T16:50:51.123+00:00",
                    makeID: {
                        counter += 1
                        return String(format: "00000000-0000-4000-8000-%012d", counter)
                    }))
            print("model: \(conversation.model) -> \(modelID)")
            print("estimated input tokens: \(plan.inputTokens)")
            if plan.repairs.isEmpty {
                print("repairs: none")
            } else {
                print("repairs:")
                for repair in plan.repairs { print("  - \(repair)") }
            }
            print("payload:")
            print(plan.body.prettyString)
        } catch let error as JSONParseError {
            throw ValidationError("\(file) is not valid JSON: \(error)")
        } catch let error as RequestError {
            throw ValidationError("the request would be refused: \(error)")
        }
    }
}
