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

private let adminKey = "sk-public-admin"
private let metricsKey = "sk-public-metrics"
private let keysYAML = """
    admin_keys: ["\(adminKey)"]
    metrics_keys: ["\(metricsKey)"]
    """
/// Bound to every address: not a loopback listener, although the test connects over 127.0.0.1.
private let wildcardListener = "  - address: 0.0.0.0:0"

@Suite("What an unauthenticated client can see")
struct PublicSurfaceTests {
    @Test("on a non-loopback listener /healthz and /readyz without a key hold status and counts only")
    func publicHealth() async throws {
        try await withProxy(extraYAML: keysYAML, listenersYAML: wildcardListener) { harness in
            for path in ["/healthz", "/health", "/readyz"] {
                for headers in [[], [("x-api-key", ProxyHarness.apiKey)], [("authorization", "Bearer wrong")]] {
                    let reply = try await harness.get(path, headers: headers)
                    #expect(reply.status == 200, "\(path)")
                    let json = try #require(reply.json)
                    #expect(json["status"] as? String == "ok")
                    let accounts = try #require(json["accounts"] as? [String: Any])
                    #expect(accounts["usable"] as? Int == 1)
                    #expect(accounts["total"] as? Int == 1)
                    #expect(accounts["items"] == nil)
                    let config = try #require(json["config"] as? [String: Any])
                    #expect(config["last_reload_failed"] as? Bool == false)
                    #expect(config["path"] == nil && config["last_reload_error"] == nil)
                    // No account id, no file path, no per-account counter.
                    #expect(!reply.body.contains("\"sim\""), "\(path): \(reply.body)")
                    #expect(!reply.body.contains(harness.configPath) && !reply.body.contains("q2api.yaml") && !reply.body.contains("/tmp"))
                    #expect(!reply.body.contains("successes") && !reply.body.contains("failures"))
                }
            }
        }
    }

    @Test("an admin key (Bearer or x-admin-key) gets the details of /healthz on any listener")
    func adminHealth() async throws {
        try await withProxy(extraYAML: keysYAML, listenersYAML: wildcardListener) { harness in
            for headers in [[("authorization", "Bearer \(adminKey)")], [("x-admin-key", adminKey)]] {
                let reply = try await harness.get("/healthz", headers: headers)
                let json = try #require(reply.json)
                let items = try #require((json["accounts"] as? [String: Any])?["items"] as? [[String: Any]])
                #expect(items.map { $0["id"] as? String } == ["sim"])
                #expect((json["config"] as? [String: Any])?["path"] as? String == harness.configPath)
            }
            // A metrics key is not an admin key.
            let metricsOnly = try await harness.get("/healthz", headers: [("authorization", "Bearer \(metricsKey)")])
            #expect(metricsOnly.json.flatMap { ($0["accounts"] as? [String: Any])?["items"] } == nil)
        }
    }

    @Test("/metrics on a non-loopback listener needs a metrics key or an admin key; an API key is not enough")
    func metricsKeys() async throws {
        try await withProxy(extraYAML: keysYAML, listenersYAML: wildcardListener) { harness in
            for headers in [
                [], [("x-api-key", ProxyHarness.apiKey)], [("authorization", "Bearer \(ProxyHarness.apiKey)")], [("authorization", "Bearer nope")],
            ] {
                let refused = try await harness.get("/metrics", headers: headers)
                #expect(refused.status == 401)
                #expect(refused.headers.first(name: "content-type")?.hasPrefix("text/plain") == true)
                #expect(refused.headers.first(name: "www-authenticate")?.hasPrefix("Bearer") == true)
                #expect(!refused.body.contains("q2api_") && !refused.body.contains("sim"))
            }
            for key in [metricsKey, adminKey] {
                let scraped = try await harness.get("/metrics", headers: [("authorization", "Bearer \(key)")])
                #expect(scraped.status == 200)
                #expect(scraped.body.contains("q2api_accounts_total"))
            }
        }
    }

    @Test("a loopback listener serves /metrics and the details of /healthz without a key")
    func loopbackListener() async throws {
        try await withProxy(extraYAML: keysYAML) { harness in
            let metrics = try await harness.get("/metrics", headers: [])
            #expect(metrics.status == 200)
            #expect(metrics.body.contains("q2api_accounts_total"))
            let health = try await harness.get("/healthz", headers: [])
            #expect(((health.json?["accounts"] as? [String: Any])?["items"] as? [[String: Any]])?.count == 1)
        }
    }

    @Test("HEAD /healthz and /readyz answer the status without a body")
    func headHealth() async throws {
        try await withProxy(listenersYAML: wildcardListener) { harness in
            for path in ["/healthz", "/health", "/readyz"] {
                let reply = try await harness.request("HEAD", path, nil, headers: [])
                #expect(reply.status == 200, "\(path)")
                #expect(reply.body.isEmpty)
            }
        }
        try await withProxy(accounts: "  []") { harness in
            let reply = try await harness.request("HEAD", "/readyz", nil, headers: [])
            #expect(reply.status == 503)
        }
    }

    @Test("an oversized header block gets a 431 in the dialect's shape, not a bare 400")
    func headerOverflow() async throws {
        try await withProxy(extraYAML: keysYAML) { harness in
            let port = Int(harness.baseURL.split(separator: ":").last!)!
            let filler = String(repeating: "a", count: 8000)
            let headers = (0..<12).map { "x-filler-\($0): \(filler)\r\n" }.joined()
            let cases: [(path: String, check: @Sendable ([String: Any]) -> Bool)] = [
                (
                    "/v1/messages",
                    { ($0["type"] as? String) == "error" && (($0["error"] as? [String: Any])?["type"] as? String) == "invalid_request_error" }
                ),
                (
                    "/v1/chat/completions",
                    { (($0["error"] as? [String: Any])?["code"] as? String) == "request_header_fields_too_large" && $0["type"] == nil }
                ),
                ("/v2/accounts", { (($0["error"] as? [String: Any])?["type"] as? String) == "request_header_fields_too_large" && $0["type"] == nil }),
            ]
            for (path, check) in cases {
                let text = try await Task.detached {
                    let connection = try RawHTTPConnection(port: port)
                    defer { connection.hangUp() }
                    try? connection.send("POST \(path) HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n\(headers)\r\n")
                    return try connection.receive(until: "}}")
                }.value
                #expect(text.hasPrefix("HTTP/1.1 431"), "\(path): \(text.prefix(200))")
                let body = String(text[text.range(of: "\r\n\r\n")!.upperBound...])
                let json = try #require((try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any], "\(path): \(body)")
                #expect(check(json), "\(path): \(body)")
            }
            // The server still serves.
            #expect(try await harness.get("/healthz", headers: []).status == 200)
        }
    }

    @Test("an account id must start with a letter or a digit")
    func accountIDs() throws {
        for id in ["main", "0day", "a.b_c-d", "Z"] { #expect(ProxyConfig.Account.isValidID(id), "\(id)") }
        for id in [".hidden", "..", ".", "_x", "-x", "", "a/b"] { #expect(!ProxyConfig.Account.isValidID(id), "\(id)") }
        let yaml = """
            version: 1
            accounts:
              - id: .hidden
                client_id: a
                client_secret: b
                refresh_token: c
            """
        #expect {
            try ProxyConfig.parse(yaml: yaml, path: "ids.yaml", environment: [:])
        } throws: { error in
            "\(error)".contains("ids.yaml:3:") && "\(error)".contains("starting with a letter or a digit")
        }
    }

    @Test("the admin API refuses a run-time account id that does not start with a letter or a digit")
    func adminRefusesHiddenID() async throws {
        try await withProxy(extraYAML: keysYAML) { harness in
            let reply = try await harness.post(
                "/v2/accounts",
                #"{"id": ".hidden", "label": "x", "client_id": "sim-client", "client_secret": "sim-secret", "refresh_token": "sim-refresh"}"#,
                headers: [("authorization", "Bearer \(adminKey)")])
            #expect(reply.status == 400)
            #expect(reply.body.contains("starting with a letter or a digit"))
            #expect(!FileManager.default.fileExists(atPath: harness.stateDirectory + "/.hidden.jsonl"))
        }
    }

    @Test("a stream still open when the drain time of a shutdown is up ends with the dialect's error event")
    func shutdownEndsStreams() async throws {
        for (path, body) in [
            ("/v1/messages", claudeRequest("hi [[sim:text:Begun.]][[sim:hold]]", stream: true)),
            (
                "/v1/chat/completions",
                #"{"model":"claude-sonnet-4.5","stream":true,"messages":[{"role":"user","content":"hi [[sim:text:Begun.]][[sim:hold]]"}]}"#
            ),
        ] {
            let text = try await withDrainingProxy { port, shutdown in
                let client = HTTPClient(eventLoopGroupProvider: .singleton)
                var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
                request.method = .POST
                request.headers.add(name: "content-type", value: "application/json")
                request.headers.add(name: "x-api-key", value: ProxyHarness.apiKey)
                request.body = .bytes(ByteBuffer(string: body))
                var collected = ""
                do {
                    let response = try await client.execute(request, timeout: .seconds(30))
                    #expect(response.status.code == 200)
                    var stopping = false
                    for try await chunk in response.body {
                        collected += String(buffer: chunk)
                        if !stopping, collected.contains("Begun") {
                            stopping = true
                            await shutdown()
                        }
                    }
                } catch {
                    Issue.record("the stream failed: \(error); read so far: \(collected)")
                }
                try await client.shutdown()
                return collected
            }
            if path == "/v1/messages" {
                #expect(sseEventNames(text).last == "error", "\(text)")
                let last = try #require(sseData(text).last)
                #expect((last["error"] as? [String: Any])?["type"] as? String == "overloaded_error")
                #expect(!text.contains("message_stop"))
            } else {
                let last = try #require(sseData(text).last)
                #expect((last["error"] as? [String: Any])?["code"] as? String == "overloaded", "\(text)")
                #expect(!text.contains("[DONE]"))
            }
        }
    }
}

/// A simulator and a server whose shutdown (`shutdown()`, as SIGTERM does) gives open replies 0.3 s of drain time.
private func withDrainingProxy(_ body: @escaping @Sendable (Int, @escaping @Sendable () async -> Void) async throws -> String) async throws -> String
{
    var logger = Logger(label: "test")
    logger.logLevel = .critical
    let state = SimulatorState()
    let (simPorts, simContinuation) = AsyncStream<Int>.makeStream()
    let (proxyPorts, proxyContinuation) = AsyncStream<Int>.makeStream()
    return try await withThrowingTaskGroup(of: String?.self) { tasks in
        let simulator = QSimulator.application(
            options: SimulatorOptions(), state: state, host: "127.0.0.1", port: 0, logger: logger, onBound: { simContinuation.yield($0) })
        let simulatorGroup = ServiceGroup(configuration: .init(services: [simulator], logger: logger).bounded())
        tasks.addTask {
            try await simulatorGroup.run()
            return nil
        }
        var simIterator = simPorts.makeAsyncIterator()
        guard let simPort = await simIterator.next() else { throw CancellationError() }
        let config = try ProxyConfig.parse(
            yaml: """
                version: 1
                listeners:
                  - address: 127.0.0.1:0
                api_keys: ["\(ProxyHarness.apiKey)"]
                upstream: {endpoint: "http://127.0.0.1:\(simPort)/", oidc_endpoint: "http://127.0.0.1:\(simPort)"}
                state_dir: \(FileManager.default.temporaryDirectory.appendingPathComponent("q2api-drain-\(UUID().uuidString)").path)
                log: {level: critical}
                accounts:
                  - {id: sim, client_id: sim-client, client_secret: sim-secret, refresh_token: sim-refresh}
                """,
            path: "drain.yaml", environment: [:])
        var reload = ReloadOptions()
        reload.reloadOnSignal = false
        reload.pollInterval = nil
        reload.environment = [:]
        reload.drainTimeout = .milliseconds(300)
        let service = ProxyServerService(
            config: config, template: try config.compiledTemplate(), logger: logger, reload: reload,
            onBound: { _, port in proxyContinuation.yield(port) })
        // As `serve` does: a few seconds after the drain time, whatever is left is cut.
        let serverGroup = ServiceGroup(configuration: .init(services: [service], logger: logger).bounded())
        tasks.addTask {
            try await serverGroup.run()
            return nil
        }
        var proxyIterator = proxyPorts.makeAsyncIterator()
        guard let proxyPort = await proxyIterator.next() else { throw CancellationError() }
        let text = try await body(proxyPort) { await serverGroup.triggerGracefulShutdown() }
        await serverGroup.triggerGracefulShutdown()
        // Whatever the simulator still holds (or holds later) goes on, so both sides can stop.
        let releaser = Task {
            while !Task.isCancelled {
                state.releaseHeld()
                try? await Task.sleep(for: .milliseconds(50))
            }
        }
        defer { releaser.cancel() }
        await simulatorGroup.triggerGracefulShutdown()
        try? await tasks.waitForAll()
        return text
    }
}

extension ServiceGroupConfiguration {
    fileprivate func bounded() -> ServiceGroupConfiguration {
        var copy = self
        copy.maximumGracefulShutdownDuration = .seconds(3)
        return copy
    }
}
