import ArgumentParser
import Hummingbird
import Logging
import QSimulator
import ServiceLifecycle
import UnixSignals

/// Runs the Amazon Q + OIDC simulator, for trying q2api without an AWS account, and for tests.
struct SimulateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate", abstract: "Run a local Amazon Q + OIDC simulator (no AWS account needed).")

    @Option(help: "Address to bind.") var host = "127.0.0.1"
    @Option(help: "Port to bind (0 picks a free one and prints it).") var port = 8999
    @Option(help: "Accept only this OIDC client id.") var clientID: String?
    @Option(help: "Accept only this OIDC client secret.") var clientSecret: String?
    @Option(name: .customLong("refresh-token"), help: "A valid refresh token (repeatable); none = accept any.") var refreshTokens: [String] = []
    @Option(help: "Access token lifetime in seconds.") var tokenLifetime = 3600
    @Flag(help: "Rotate refresh tokens on each refresh, as the real service may.") var rotateRefreshTokens = false
    @Option(help: "Default reply: short or realistic (~1,250 characters in ~110 frames).") var reply: String = "short"
    @Option(help: "Pause between frames, in milliseconds.") var frameDelayMs = 0
    @Option(
        help: "Network writes: split (odd-sized pieces that cut frames, the default) or frames (one write per frame, as the real service streams).")
    var writes: String = "split"
    @Option(help: "Device login: seconds between polls the client is told to keep (interval).") var deviceInterval = 1
    @Option(help: "Device login: seconds a device code stays valid (expiresIn).") var deviceCodeLifetime = 600
    @Option(
        name: .customLong("auto-approve-device-after"),
        help: "Device login: approve by itself after N pending polls, with no browser (default: wait for approval).")
    var autoApproveDeviceAfter: Int?
    @Flag(help: "Device login: never answer slow_down to polls faster than the interval.") var noSlowDown = false
    @Option(help: "Milliseconds /token waits before answering a refresh (for crash tests).") var tokenDelayMs = 0
    @Option(
        name: .customLong("model"),
        help: "A model id the service accepts and lists in ListAvailableModels (repeatable; default: the Builder ID list).")
    var models: [String] = []

    func run() async throws {
        LoggingBootstrap.bootstrap(level: "info", format: "text")
        let logger = Logger(label: "q2api.simulator")
        guard let defaultReply = DefaultReply(rawValue: reply) else { throw ValidationError("--reply must be short or realistic") }
        guard let writePattern = WritePattern(rawValue: writes) else { throw ValidationError("--writes must be split or frames") }
        guard deviceInterval >= 0, deviceCodeLifetime >= 0, (autoApproveDeviceAfter ?? 0) >= 0 else {
            throw ValidationError("--device-interval, --device-code-lifetime and --auto-approve-device-after must not be negative")
        }
        var options = SimulatorOptions(
            clientID: clientID, clientSecret: clientSecret, refreshTokens: refreshTokens, accessTokenLifetime: tokenLifetime,
            rotateRefreshTokens: rotateRefreshTokens, frameDelay: .milliseconds(frameDelayMs), defaultReply: defaultReply,
            writes: writePattern, deviceInterval: deviceInterval, deviceCodeLifetime: deviceCodeLifetime,
            autoApproveDeviceAfterPolls: autoApproveDeviceAfter,
            enforceSlowDown: !noSlowDown, tokenDelay: .milliseconds(max(0, tokenDelayMs)))
        if !models.isEmpty { options.models = models }
        let app = QSimulator.application(
            options: options, state: SimulatorState(), host: host, port: port, logger: logger,
            onBound: { bound in print("simulator listening on http://\(host):\(bound)") })
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}
