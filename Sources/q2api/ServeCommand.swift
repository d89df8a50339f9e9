import ArgumentParser
import Foundation
import Logging
import ProxyConfig
import ProxyServer
import ServiceLifecycle
import Translation
import UnixSignals

/// Runs the proxy on the listeners of the config.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Run the proxy (the default command).")

    @OptionGroup var options: ConfigOptions

    @Option(
        name: .customLong("drain-timeout"),
        help: "Seconds open replies may run after SIGTERM; then each ends with the dialect's error event and the process exits.")
    var drainTimeout: Int = 30

    func validate() throws {
        guard (0...3600).contains(drainTimeout) else { throw ValidationError("--drain-timeout must be 0 to 3600 seconds") }
    }

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
            metadata: [
                "config": "\(config.sourcePath)", "accounts": "\(config.accounts.count)",
                "listeners": "\(config.listeners.map { $0.address.description })",
            ])
        let boundLogger = logger
        // One Prometheus registry for the process: the server's metrics and anything recorded through swift-metrics.
        let metrics = ProxyMetrics()
        metrics.bootstrapGlobal()
        // sd_notify: READY=1 once the listeners are bound, RELOADING=1/READY=1 around reloads, STOPPING=1 below.
        let notifier = SystemdNotifier()
        var reload = ReloadOptions()
        reload.drainTimeout = .seconds(drainTimeout)
        var service = ProxyServerService(
            config: config, template: template, logger: logger, reload: reload,
            onBound: { listener, port in
                boundLogger.info("listening", metadata: ["address": "\(listener.host):\(port)"])
            })
        service.metrics = metrics
        service.notifier = notifier
        // SIGTERM/SIGINT: stop accepting, let in-flight streams finish; past the drain time they end with an error
        // event (ProxyServerService), and a few seconds later anything left is cut.
        var groupConfiguration = ServiceGroupConfiguration(
            // Last, so that it hears of the shutdown first and systemd gets STOPPING=1 before the drain.
            services: [.init(service: service), .init(service: SystemdStoppingNotice(notifier: notifier))],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        groupConfiguration.maximumGracefulShutdownDuration = .seconds(drainTimeout + 3)
        try await ServiceGroup(configuration: groupConfiguration).run()
    }
}
