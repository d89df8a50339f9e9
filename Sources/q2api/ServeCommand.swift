import ArgumentParser
import Foundation
import Logging
import ProxyConfig
import ProxyServer
import Translation

/// Runs the proxy on the listeners of the config.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Run the proxy (the default command).")

    @OptionGroup var options: ConfigOptions

    func run() async throws {
        let (config, template): (ProxyConfig, RequestTemplate)
        switch ConfigLoading.load(options.config) {
        case .success(let loaded): (config, template) = loaded
        case .failure(let errors):
            ConfigLoading.printErrors(errors)
            throw ExitCode(1)
        }
        LoggingBootstrap.bootstrap(level: config.log.level.rawValue, format: config.log.format.rawValue)
        var logger = Logger(label: "q2api")
        logger.logLevel = Logger.Level(rawValue: config.log.level.rawValue) ?? .info
        logger.info(
            "starting",
            metadata: ["config": "\(config.sourcePath)", "accounts": "\(config.accounts.count)", "listeners": "\(config.listeners.map { $0.address.description })"])
        let boundLogger = logger
        let service = ProxyServerService(
            config: config, template: template, logger: logger,
            onBound: { listener, port in
                boundLogger.info("listening", metadata: ["address": "\(listener.host):\(port)"])
            })
        try await service.run()
    }
}
