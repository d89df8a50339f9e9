import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import ProxyServer
import QSimulator
import Testing

/// Whether a TCP connection to the loopback port is accepted. (An HTTP client would keep retrying a
/// refused connection until its deadline, so the test asks the socket layer directly.)
func acceptsConnections(_ port: Int) async -> Bool {
    do {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connectTimeout(.seconds(1))
            .connect(host: "127.0.0.1", port: port).get()
        try? await channel.close()
        return true
    } catch {
        return false
    }
}

/// A free loopback port (bound to 0, read, released).
func freePort() throws -> Int {
    let channel = try ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).wait()
    let port = channel.localAddress?.port ?? 0
    try channel.close().wait()
    return port
}

extension ProxyHarness {
    /// Rewrites the config file, replacing `old` with `new`.
    func editConfig(replacing old: String, with new: String) throws {
        let text = try String(contentsOfFile: configPath, encoding: .utf8)
        #expect(text.contains(old), "the config contains \(old)")
        try text.replacingOccurrences(of: old, with: new).write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    func generation() async throws -> Int {
        let health = try await get("/healthz", headers: [])
        return (health.json?["config"] as? [String: Any])?["generation"] as? Int ?? 0
    }
}

let pollingReload: ReloadOptions = {
    var options = ReloadOptions()
    options.reloadOnSignal = false
    options.pollInterval = .milliseconds(50)
    options.settle = .milliseconds(50)
    options.listenerGracePeriod = .seconds(10)
    options.environment = [:]
    return options
}()

@Suite("Live reload of q2api.yaml", .serialized)
struct ReloadTests {
    @Test("an edited file is picked up: a new API key works, the generation moves on")
    func newAPIKey() async throws {
        try await withProxy(reload: pollingReload) { proxy in
            let before = try await proxy.post("/v1/messages", claudeRequest("hi"), headers: [("x-api-key", "sk-second")])
            #expect(before.status == 401)
            try proxy.editConfig(replacing: #"api_keys: ["sk-test-key"]"#, with: #"api_keys: ["sk-test-key", "sk-second"]"#)
            try await proxy.eventuallyAsync("the new config is in force") { try await proxy.generation() == 2 }
            let after = try await proxy.post("/v1/messages", claudeRequest("hi"), headers: [("x-api-key", "sk-second")])
            #expect(after.status == 200)
            let old = try await proxy.post("/v1/messages", claudeRequest("hi"))
            #expect(old.status == 200)
        }
    }

    @Test("an invalid file is rejected: the old config keeps serving and /healthz shows the error with its line")
    func invalidFile() async throws {
        try await withProxy(reload: pollingReload) { proxy in
            try proxy.editConfig(replacing: "log: {level: critical}", with: "log: {level: critical}\nbogus_key: 1")
            try await proxy.eventuallyAsync("the reload error is reported") {
                let health = try await proxy.get("/healthz", headers: [])
                let error = (health.json?["config"] as? [String: Any])?["last_reload_error"] as? String
                return error?.contains("q2api.yaml:") == true && error?.contains("bogus_key") == true
            }
            #expect(try await proxy.generation() == 1)
            let reply = try await proxy.post("/v1/messages", claudeRequest("still served"))
            #expect(reply.status == 200)
            try proxy.editConfig(replacing: "bogus_key: 1", with: "")
            try await proxy.eventuallyAsync("the fixed file is loaded") { try await proxy.generation() == 2 }
            let health = try await proxy.get("/healthz", headers: [])
            #expect((health.json?["config"] as? [String: Any])?["last_reload_error"] is NSNull)
        }
    }

    @Test("a listener change binds the new address first; a stream open on the removed one finishes")
    func listenerChange() async throws {
        let first = try freePort()
        let second = try freePort()
        try await withProxy(listenersYAML: "  - address: 127.0.0.1:\(first)", reload: pollingReload) { proxy in
            // A stream held open on the listener that is about to be removed.
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(first)/v1/messages")
            request.method = .POST
            request.headers.add(name: "x-api-key", value: ProxyHarness.apiKey)
            request.body = .bytes(ByteBuffer(string: claudeRequest("[[sim:hold]]", stream: true)))
            let held = Task { () -> String in
                let response = try await proxy.client.execute(request, timeout: .seconds(30))
                var text = ""
                for try await chunk in response.body { text += String(buffer: chunk) }
                return text
            }
            try await proxy.eventually("the stream is held upstream") { proxy.simulator.heldStreams == 1 }

            try proxy.editConfig(replacing: "127.0.0.1:\(first)", with: "127.0.0.1:\(second)")
            try await proxy.eventuallyAsync("the new listener answers") {
                guard await acceptsConnections(second) else { return false }
                let reply = try await proxy.client.execute(HTTPClientRequest(url: "http://127.0.0.1:\(second)/healthz"), timeout: .seconds(2))
                return reply.status.code == 200
            }
            try await proxy.eventuallyAsync("the old listener stops accepting") { await !acceptsConnections(first) }
            proxy.simulator.releaseHeld()
            let text = try await held.value
            #expect(sseText(text) == "Held: released.", "the in-flight stream finished undisturbed")
        }
    }

    @Test("reloading under load fails no request")
    func reloadUnderLoad() async throws {
        try await withProxy(reload: pollingReload) { proxy in
            let results = try await withThrowingTaskGroup(of: Int.self, returning: [Int].self) { group in
                for index in 0..<24 {
                    group.addTask {
                        let reply = try await proxy.post(
                            "/v1/messages", claudeRequest("[[sim:delay:5]][[sim:long:300]] \(index)", stream: index % 2 == 0))
                        return reply.status == 200 && (index % 2 == 1 || sseEventNames(reply.body).last == "message_stop") ? 200 : reply.status
                    }
                }
                group.addTask {
                    // A bounded loop of edits, including an invalid file, while the streams run.
                    for round in 0..<6 {
                        let text = try String(contentsOfFile: proxy.configPath, encoding: .utf8)
                        let edited =
                            round == 3
                            ? text + "\nnot_a_key: true\n" : text.replacingOccurrences(of: "\nnot_a_key: true\n", with: "") + "\n# edit \(round)\n"
                        try edited.write(toFile: proxy.configPath, atomically: true, encoding: .utf8)
                        try await Task.sleep(for: .milliseconds(150))
                    }
                    return 200
                }
                var statuses: [Int] = []
                for try await status in group { statuses.append(status) }
                return statuses
            }
            #expect(results.allSatisfy { $0 == 200 }, "statuses: \(results)")
            #expect(try await proxy.generation() > 1)
        }
    }
}

extension ProxyHarness {
    func eventuallyAsync(_ what: String, timeout: Duration = .seconds(10), _ condition: @Sendable () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if (try? await condition()) == true { return }
            try await Task.sleep(for: .milliseconds(25))
        }
        Issue.record("timed out waiting until \(what)")
    }
}
