import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import ProxyConfig
import ProxyServer
import QSimulator
import ServiceLifecycle
import Testing

/// A real q2api server and a real simulator on loopback ports, in process, for end-to-end tests.
struct ProxyHarness: Sendable {
    let baseURL: String
    /// The YAML file the server loaded (a temp file), for reload tests.
    let configPath: String
    /// The server's state directory (`state/` beside the YAML unless the YAML says otherwise).
    let stateDirectory: String
    let simulatorPort: Int
    let simulatorURL: String
    let simulator: SimulatorState
    let client: HTTPClient
    static let apiKey = "sk-test-key"

    struct Reply: Sendable {
        var status: Int
        var headers: HTTPHeaders
        var body: String
        var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] }
    }

    /// POSTs JSON and collects the whole reply.
    func post(_ path: String, _ body: String, headers: [(String, String)] = [("x-api-key", apiKey)]) async throws -> Reply {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await client.execute(request, timeout: .seconds(30))
        let collected = try await response.body.collect(upTo: 16 * 1024 * 1024)
        return Reply(status: Int(response.status.code), headers: response.headers, body: String(buffer: collected))
    }

    func get(_ path: String, headers: [(String, String)] = [("x-api-key", apiKey)]) async throws -> Reply {
        var request = HTTPClientRequest(url: baseURL + path)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        let response = try await client.execute(request, timeout: .seconds(30))
        let collected = try await response.body.collect(upTo: 16 * 1024 * 1024)
        return Reply(status: Int(response.status.code), headers: response.headers, body: String(buffer: collected))
    }

    /// Any method, with an optional JSON body.
    func request(_ method: String, _ path: String, _ body: String?, headers: [(String, String)]) async throws -> Reply {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = HTTPMethod(rawValue: method)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            request.headers.add(name: "content-type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await client.execute(request, timeout: .seconds(30))
        let collected = try await response.body.collect(upTo: 16 * 1024 * 1024)
        return Reply(status: Int(response.status.code), headers: response.headers, body: String(buffer: collected))
    }

    /// Waits (bounded) until `condition` holds; records an issue when it never does.
    func eventually(_ what: String, timeout: Duration = .seconds(5), _ condition: @Sendable () -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if condition() { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("timed out waiting until \(what)")
    }
}

/// Runs `body` against a fresh simulator and server; both stop when it returns.
func withProxy(
    simulator options: SimulatorOptions = SimulatorOptions(),
    accounts: String = """
      - id: sim
        client_id: sim-client
        client_secret: sim-secret
        refresh_token: sim-refresh
    """,
    extraYAML: String = "",
    listenersYAML: String = "  - address: 127.0.0.1:0",
    readTimeout: String? = nil,
    oidcEndpoint: String? = nil,
    reload: ReloadOptions = {
        var options = ReloadOptions()
        options.reloadOnSignal = false
        options.pollInterval = nil
        options.settle = .milliseconds(20)
        options.environment = [:]
        return options
    }(),
    _ body: @Sendable (ProxyHarness) async throws -> Void
) async throws {
    let logger = {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return logger
    }()
    let state = SimulatorState()
    let (simPorts, simContinuation) = AsyncStream<Int>.makeStream()
    let (proxyPorts, proxyContinuation) = AsyncStream<Int>.makeStream()
    let client = HTTPClient(eventLoopGroupProvider: .singleton)
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask {
            let simulatorApp = QSimulator.application(
                options: options, state: state, host: "127.0.0.1", port: 0, logger: logger, onBound: { simContinuation.yield($0) })
            try await ServiceGroup(configuration: .init(services: [simulatorApp], logger: logger)).run()
        }
        var simIterator = simPorts.makeAsyncIterator()
        guard let simPort = await simIterator.next() else { throw CancellationError() }
        let yaml = """
            version: 1
            listeners:
            \(listenersYAML)
            api_keys: ["\(ProxyHarness.apiKey)"]
            upstream:
              endpoint: http://127.0.0.1:\(simPort)/
              oidc_endpoint: \(oidcEndpoint ?? "http://127.0.0.1:\(simPort)")
              kiro_auth_endpoint: http://127.0.0.1:\(simPort)
              \(readTimeout.map { "read_timeout: \($0)" } ?? "")
            log: {level: critical}
            \(extraYAML)
            accounts:
            \(accounts)
            """
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("q2api-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let configPath = directory.appendingPathComponent("q2api.yaml").path
        try yaml.write(toFile: configPath, atomically: true, encoding: .utf8)
        let config = try ProxyConfig.load(path: configPath, environment: [:])
        let service = ProxyServerService(
            config: config, template: try config.compiledTemplate(), logger: logger, reload: reload,
            onBound: { _, port in proxyContinuation.yield(port) })
        group.addTask { try await service.run() }
        var proxyIterator = proxyPorts.makeAsyncIterator()
        guard let proxyPort = await proxyIterator.next() else { throw CancellationError() }
        let harness = ProxyHarness(
            baseURL: "http://127.0.0.1:\(proxyPort)", configPath: configPath, stateDirectory: config.stateDirectory, simulatorPort: simPort,
            simulatorURL: "http://127.0.0.1:\(simPort)", simulator: state, client: client)
        do {
            try await body(harness)
        } catch {
            group.cancelAll()
            try? await client.shutdown()
            throw error
        }
        group.cancelAll()
    }
    try await client.shutdown()
}

/// A minimal Claude request whose last user message carries `text`.
func claudeRequest(_ text: String, stream: Bool = false, extra: String = "") -> String {
    let escaped = String(decoding: try! JSONSerialization.data(withJSONObject: [text], options: [.fragmentsAllowed]), as: UTF8.self)
    return
        #"{"model":"claude-sonnet-4-5-20250929","max_tokens":1024,"stream":\#(stream),"messages":[{"role":"user","content":\#(escaped.dropFirst().dropLast())}]\#(extra)}"#
}

/// The `event:` names of an SSE body, in order.
func sseEventNames(_ body: String) -> [String] {
    body.split(separator: "\n").compactMap { line in line.hasPrefix("event: ") ? String(line.dropFirst(7)) : nil }
}

/// The `data:` payloads of an SSE body, parsed.
func sseData(_ body: String) -> [[String: Any]] {
    body.split(separator: "\n").compactMap { line in
        guard line.hasPrefix("data: ") else { return nil }
        return (try? JSONSerialization.jsonObject(with: Data(line.dropFirst(6).utf8))) as? [String: Any]
    }
}

/// The concatenated text deltas of an SSE body.
func sseText(_ body: String) -> String {
    sseData(body).compactMap { event -> String? in
        guard event["type"] as? String == "content_block_delta", let delta = event["delta"] as? [String: Any] else { return nil }
        return delta["text"] as? String
    }.joined()
}
