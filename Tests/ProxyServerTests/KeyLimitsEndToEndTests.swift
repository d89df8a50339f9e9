import Foundation
import NIOHTTP1
import ProxyServer
import QSimulator
import Testing

/// `api_keys` as objects, through the real server and the simulator: the allowlist, the limits and a disabled key,
/// as Claude and OpenAI clients see them.
@Suite("API key limits end to end", .serialized)
struct KeyLimitsEndToEndTests {
    /// The harness's plain key stays (so the reload guard is not involved); three keys with names join it.
    static let keys = """
        api_keys:
          - sk-test-key
          - name: intern
            key: sk-intern
            models: [claude-sonnet-4.5]
            limits: {requests_per_minute: 2}
          - name: streamer
            key: sk-streamer
            limits: {concurrent_streams: 1}
          - name: former
            key: sk-former
            enabled: false
        """

    /// The admin key that reads `/v2/usage`.
    static let adminKey = "sk-admin-key-limits"

    /// Starts the harness, then puts the keys above in force with a reload (the harness writes its own `api_keys`).
    func withKeys(_ body: @Sendable (ProxyHarness) async throws -> Void) async throws {
        try await withProxy(extraYAML: "admin_keys: [\"\(Self.adminKey)\"]", reload: pollingReload) { proxy in
            try proxy.editConfig(replacing: #"api_keys: ["sk-test-key"]"#, with: Self.keys)
            try await proxy.eventuallyAsync("the keys are in force") { try await proxy.generation() == 2 }
            try await body(proxy)
        }
    }

    static func chat(_ model: String, stream: Bool = false) -> String {
        #"{"model":"\#(model)","stream":\#(stream),"messages":[{"role":"user","content":"hi"}]}"#
    }

    @Test("requests_per_minute: the third request in a minute gets 429 with retry-after, in Claude's and OpenAI's shapes")
    func requestsPerMinute() async throws {
        try await withKeys { proxy in
            let claude = [("x-api-key", "sk-intern")]
            let openAI = [("authorization", "Bearer sk-intern")]
            #expect(try await proxy.post("/v1/messages", claudeRequest("one"), headers: claude).status == 200)
            #expect(try await proxy.post("/v1/chat/completions", Self.chat("claude-sonnet-4.5"), headers: openAI).status == 200)

            let refused = try await proxy.post("/v1/messages", claudeRequest("three"), headers: claude)
            #expect(refused.status == 429)
            let error = try #require(refused.json?["error"] as? [String: Any])
            #expect(error["type"] as? String == "rate_limit_error")
            let message = try #require(error["message"] as? String)
            #expect(message.hasPrefix("API key 'intern' is over its limit of 2 requests per minute; try again in "))
            let retryAfter = try #require(refused.headers.first(name: "retry-after").flatMap { Int($0) })
            // Up to 61 s: the window counts whole seconds, rounded up, so that it is never shorter than a minute.
            #expect((1...61).contains(retryAfter))

            let openAIRefused = try await proxy.post("/v1/chat/completions", Self.chat("claude-sonnet-4.5"), headers: openAI)
            #expect(openAIRefused.status == 429)
            let openAIError = try #require(openAIRefused.json?["error"] as? [String: Any])
            #expect(openAIError["code"] as? String == "rate_limit_exceeded")
            #expect((openAIError["message"] as? String)?.contains("API key 'intern'") == true)
            #expect(openAIRefused.headers.first(name: "retry-after") != nil)

            // The harness's key has no limits: it is not touched by intern's.
            #expect(try await proxy.post("/v1/messages", claudeRequest("free")).status == 200)

            let metrics = try await proxy.get("/metrics", headers: [])
            #expect(metrics.body.contains(#"q2api_key_limit_rejections_total{key="intern",limit="requests_per_minute"} 2"#))
            #expect(!metrics.body.contains("sk-intern"))
        }
    }

    @Test("Codex's throttled stream is a response.failed with rate_limit_exceeded and 'try again in N s', as it retries")
    func codexStream() async throws {
        try await withKeys { proxy in
            let headers = [("authorization", "Bearer sk-intern")]
            for _ in 0..<2 { #expect(try await proxy.post("/v1/messages", claudeRequest("hi"), headers: [("x-api-key", "sk-intern")]).status == 200) }
            let codex =
                #"{"model":"claude-sonnet-4.5","stream":true,"input":"hi","client_metadata":{"x-codex-installation-id":"test"}}"#
            let reply = try await proxy.post("/v1/responses", codex, headers: headers)
            #expect(reply.status == 200)
            let failed = try #require(sseData(reply.body).first { $0["type"] as? String == "response.failed" })
            let error = try #require((failed["response"] as? [String: Any])?["error"] as? [String: Any])
            #expect(error["code"] as? String == "rate_limit_exceeded")
            let message = try #require(error["message"] as? String)
            #expect(message.hasPrefix("API key 'intern' is over its limit of 2 requests per minute") && message.contains("Please try again in "))
            // Any other client gets the 429.
            let plain = try await proxy.post("/v1/responses", #"{"model":"claude-sonnet-4.5","stream":true,"input":"hi"}"#, headers: headers)
            #expect(plain.status == 429)
        }
    }

    @Test("a model outside the key's models is 403 permission_error; /v1/models lists only the key's models")
    func allowlist() async throws {
        try await withKeys { proxy in
            let refused = try await proxy.post(
                "/v1/messages",
                claudeRequest("hi").replacingOccurrences(
                    of: "claude-sonnet-4-5-20250929", with: "claude-opus-4.5"), headers: [("x-api-key", "sk-intern")])
            #expect(refused.status == 403)
            let error = try #require(refused.json?["error"] as? [String: Any])
            #expect(error["type"] as? String == "permission_error")
            #expect(error["message"] as? String == "API key 'intern' may not use the model claude-opus-4.5; it may use claude-sonnet-4.5")

            let openAI = try await proxy.post(
                "/v1/chat/completions", Self.chat("claude-opus-4.5"), headers: [("authorization", "Bearer sk-intern")])
            #expect(openAI.status == 403)
            #expect((openAI.json?["error"] as? [String: Any])?["type"] as? String == "permission_error")

            // The -thinking variant of an allowed model is allowed.
            let thinking = try await proxy.post(
                "/v1/chat/completions", Self.chat("claude-sonnet-4.5-thinking"), headers: [("authorization", "Bearer sk-intern")])
            #expect(thinking.status == 200)

            let models = try await proxy.get("/v1/models", headers: [("authorization", "Bearer sk-intern")])
            let ids = (models.json?["data"] as? [[String: Any]])?.compactMap { $0["id"] as? String }
            #expect(ids == ["claude-sonnet-4.5"])
            let everything = try await proxy.get("/v1/models", headers: [("authorization", "Bearer \(ProxyHarness.apiKey)")])
            #expect(((everything.json?["data"] as? [[String: Any]])?.count ?? 0) > 1)
        }
    }

    @Test("a disabled key gets 401 'API key is disabled'")
    func disabled() async throws {
        try await withKeys { proxy in
            let reply = try await proxy.post("/v1/messages", claudeRequest("hi"), headers: [("x-api-key", "sk-former")])
            #expect(reply.status == 401)
            let error = try #require(reply.json?["error"] as? [String: Any])
            #expect(error["type"] as? String == "authentication_error")
            #expect(error["message"] as? String == "API key is disabled")
        }
    }

    @Test("concurrent_streams: while one stream is open the next is refused; once it ended the next is admitted")
    func concurrentStreams() async throws {
        try await withKeys { proxy in
            let headers = [("x-api-key", "sk-streamer")]
            let held = Task { try await proxy.post("/v1/messages", claudeRequest("wait [[sim:hold]]", stream: true), headers: headers) }
            try await proxy.eventually("the first stream is held") { proxy.simulator.heldStreams == 1 }

            let refused = try await proxy.post("/v1/messages", claudeRequest("second", stream: true), headers: headers)
            #expect(refused.status == 429)
            #expect(
                ((refused.json?["error"] as? [String: Any])?["message"] as? String)?.hasPrefix(
                    "API key 'streamer' is over its limit of 1 concurrent stream") == true)

            proxy.simulator.releaseHeld()
            let first = try await held.value
            #expect(first.status == 200 && sseEventNames(first.body).last == "message_stop")
            // The permit is released when the stream's last byte is out, just before the client reads the end.
            try await proxy.eventuallyAsync("the next stream is admitted") {
                try await proxy.post("/v1/messages", claudeRequest("third"), headers: headers).status == 200
            }
        }
    }

    /// What `GET /v2/usage` says `name` uses now (`keys[].current`).
    static func current(_ name: String, _ proxy: ProxyHarness) async throws -> [String: Any] {
        let usage = try await proxy.get("/v2/usage", headers: [("authorization", "Bearer \(adminKey)")])
        let keys = try #require(usage.json?["keys"] as? [[String: Any]])
        return try #require(keys.first { $0["name"] as? String == name }?["current"] as? [String: Any])
    }

    @Test("a client that hangs up during a stream held at concurrent_streams: the next stream is admitted, and the key is charged its tokens")
    func hangupAtTheStreamLimit() async throws {
        try await withKeys { proxy in
            let headers = [("x-api-key", "sk-streamer")]
            #expect(try await Self.current("streamer", proxy)["tokens_today"] as? Int == 0)
            let port = try #require(Int(proxy.baseURL.split(separator: ":").last ?? ""))
            let body = claudeRequest("hi [[sim:text:Begun.]][[sim:hold]]", stream: true)
            let (connection, received) = try await onOwnThread {
                let connection = try RawHTTPConnection(port: port)
                try connection.post("/v1/messages", json: body, headers: headers)
                return (connection, try connection.receive(until: "Begun"))
            }
            #expect(received.contains("Begun") && !received.contains("message_stop"), "the reply should be running: \(received.prefix(300))")
            // The key is at its limit of one stream.
            #expect(try await proxy.post("/v1/messages", claudeRequest("second", stream: true), headers: headers).status == 429)

            connection.hangUp()
            // Charged what it used though it never got its finish: the input, and the output that went out.
            try await proxy.eventuallyAsync("the hung-up stream is charged and its place is free") {
                let current = try await Self.current("streamer", proxy)
                return current["streams"] as? Int == 0 && (current["tokens_today"] as? Int ?? 0) > 0
            }
            let next = try await proxy.post("/v1/messages", claudeRequest("next", stream: true), headers: headers)
            #expect(next.status == 200 && sseEventNames(next.body).last == "message_stop")
            proxy.simulator.releaseHeld()
        }
    }
}
