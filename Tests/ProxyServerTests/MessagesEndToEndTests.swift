import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import ProxyModels
import QSimulator
import Testing

@Suite("POST /v1/messages end to end, against the simulator", .serialized)
struct MessagesEndToEndTests {
    @Test("streaming is incremental: the first text delta arrives while the simulator still holds back the rest")
    func incrementalStreaming() async throws {
        try await withProxy { proxy in
            var request = HTTPClientRequest(url: proxy.baseURL + "/v1/messages")
            request.method = .POST
            request.headers.add(name: "x-api-key", value: ProxyHarness.apiKey)
            request.headers.add(name: "content-type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: claudeRequest("[[sim:hold]]", stream: true)))
            let response = try await proxy.client.execute(request, timeout: .seconds(30))
            #expect(response.status == .ok)
            #expect(response.headers.first(name: "content-type") == "text/event-stream")
            var received = ""
            var sawDeltaWhileHeld = false
            var iterator = response.body.makeAsyncIterator()
            while let chunk = try await iterator.next() {
                received += String(buffer: chunk)
                if received.contains("content_block_delta") {
                    // The simulator has sent only its first text event and is waiting to be released.
                    sawDeltaWhileHeld = proxy.simulator.heldStreams == 1
                    break
                }
            }
            #expect(sawDeltaWhileHeld, "a delta reached the client while the upstream reply was still held back")
            proxy.simulator.releaseHeld()
            while let chunk = try await iterator.next() { received += String(buffer: chunk) }
            #expect(sseEventNames(received).last == "message_stop")
            #expect(sseText(received) == "Held: released.")
        }
    }

    @Test("a streamed reply has the exact Claude event sequence")
    func streamSequence() async throws {
        try await withProxy { proxy in
            let reply = try await proxy.post("/v1/messages?beta=true", claudeRequest("[[sim:text:Hi 你好 🙂]]", stream: true))
            #expect(reply.status == 200)
            let names = sseEventNames(reply.body)
            #expect(names.first == "message_start")
            #expect(names.last == "message_stop")
            #expect(names.filter { $0 == "message_delta" }.count == 1)
            #expect(names.contains("content_block_start") && names.contains("content_block_stop"))
            #expect(sseText(reply.body) == "Hi 你好 🙂")
            let start = sseData(reply.body).first?["message"] as? [String: Any]
            #expect((start?["id"] as? String)?.hasPrefix("msg_") == true)
            #expect(start?["model"] as? String == "claude-sonnet-4-5-20250929")
            #expect(reply.headers.first(name: "request-id")?.hasPrefix("req_") == true)
        }
    }

    @Test("a non-streamed reply is one message object")
    func nonStream() async throws {
        try await withProxy { proxy in
            let reply = try await proxy.post("/v1/messages", claudeRequest("hello"))
            #expect(reply.status == 200)
            let json = try #require(reply.json)
            #expect(json["type"] as? String == "message")
            #expect(json["stop_reason"] as? String == "end_turn")
            let content = json["content"] as? [[String: Any]]
            #expect(content?.first?["text"] as? String == "Hello! I am the q2api simulator.")
            let usage = json["usage"] as? [String: Any]
            #expect((usage?["input_tokens"] as? Int ?? 0) > 0)
            #expect(usage?["cache_read_input_tokens"] as? Int == 0)
        }
    }

    @Test("tool calls come back with parsed input and stop_reason tool_use; results reach the upstream")
    func toolRoundTrip() async throws {
        try await withProxy { proxy in
            let tools =
                #","tools":[{"name":"get_weather","description":"Weather","input_schema":{"type":"object","properties":{"location":{"type":"string"}}}}]"#
            let first = try await proxy.post("/v1/messages", claudeRequest(#"[[sim:tool:get_weather:{"location":"Paris"}]]"#, extra: tools))
            let json = try #require(first.json)
            #expect(json["stop_reason"] as? String == "tool_use")
            let toolUse = (json["content"] as? [[String: Any]])?.first { $0["type"] as? String == "tool_use" }
            #expect(toolUse?["name"] as? String == "get_weather")
            #expect(toolUse?["input"] as? [String: String] == ["location": "Paris"])
            let id = try #require(toolUse?["id"] as? String)
            let followUp = #"""
                {"model":"claude-sonnet-4-5","max_tokens":100\#(tools),"messages":[
                 {"role":"user","content":"weather?"},
                 {"role":"assistant","content":[{"type":"tool_use","id":"\#(id)","name":"get_weather","input":{"location":"Paris"}}]},
                 {"role":"user","content":[{"type":"tool_result","tool_use_id":"\#(id)","content":"Sunny, 21C"}]}]}
                """#
            let second = try await proxy.post("/v1/messages", followUp)
            #expect(second.status == 200, "\(second.body)")
            let text = ((second.json?["content"] as? [[String: Any]])?.first?["text"] as? String) ?? ""
            #expect(text.contains("Sunny, 21C"))
        }
    }

    @Test("a wrong or missing API key is a 401 in Claude's shape")
    func authentication() async throws {
        try await withProxy { proxy in
            let wrong = try await proxy.post("/v1/messages", claudeRequest("x"), headers: [("x-api-key", "nope")])
            #expect(wrong.status == 401)
            #expect((wrong.json?["error"] as? [String: Any])?["type"] as? String == "authentication_error")
            #expect((wrong.json?["request_id"] as? String)?.hasPrefix("req_") == true)
            let bearer = try await proxy.post("/v1/messages", claudeRequest("x"), headers: [("authorization", "Bearer \(ProxyHarness.apiKey)")])
            #expect(bearer.status == 200)
            let none = try await proxy.post("/v1/messages", claudeRequest("x"), headers: [])
            #expect(none.status == 401)
        }
    }

    @Test("upstream throttling is a 429 rate_limit_error with retry-after")
    func throttling() async throws {
        try await withProxy { proxy in
            let reply = try await proxy.post("/v1/messages", claudeRequest("[[sim:throttle]]"))
            #expect(reply.status == 429)
            #expect((reply.json?["error"] as? [String: Any])?["type"] as? String == "rate_limit_error")
            #expect(reply.headers.first(name: "retry-after") != nil)
        }
    }

    @Test("a mid-stream upstream failure arrives as an error event and the stream ends cleanly")
    func midStreamFailure() async throws {
        try await withProxy { proxy in
            let reply = try await proxy.post("/v1/messages", claudeRequest("[[sim:exception]]", stream: true))
            #expect(reply.status == 200)
            let names = sseEventNames(reply.body)
            #expect(names.last == "error")
            #expect(!names.contains("message_delta"))
            let error = sseData(reply.body).last?["error"] as? [String: Any]
            #expect(error?["type"] as? String == "overloaded_error")
            #expect(sseText(reply.body) == "Let me think about that")
        }
    }

    @Test("a reset or corrupt upstream stream ends the client stream with an error event", arguments: ["reset", "corrupt"])
    func brokenUpstream(directive: String) async throws {
        try await withProxy { proxy in
            let reply = try await proxy.post("/v1/messages", claudeRequest("[[sim:\(directive)]]", stream: true))
            if reply.status == 200 {
                // Content reached the client before the failure: the stream ends with an error event.
                #expect(sseEventNames(reply.body).last == "error")
            } else {
                // The failure came before any content (the reset raced the first frames): a plain error reply.
                #expect(reply.status >= 500)
                #expect(reply.json?["type"] as? String == "error")
            }
            try await proxy.eventually("the simulator has no open streams") { proxy.simulator.openStreams == 0 }
        }
    }

    @Test("malformed input is a 400 naming the problem; an oversized body is a 413")
    func badInput() async throws {
        try await withProxy { proxy in
            let malformed = try await proxy.post("/v1/messages", "{not json")
            #expect(malformed.status == 400)
            #expect((malformed.json?["error"] as? [String: Any])?["type"] as? String == "invalid_request_error")
            let missing = try await proxy.post("/v1/messages", #"{"model":"m","max_tokens":5}"#)
            #expect(((missing.json?["error"] as? [String: Any])?["message"] as? String)?.hasPrefix("messages:") == true)
            let huge = try await proxy.post("/v1/messages", "{\"pad\":\"" + String(repeating: "a", count: 21 * 1024 * 1024) + "\"}")
            #expect(huge.status == 413)
            #expect((huge.json?["error"] as? [String: Any])?["type"] as? String == "request_too_large")
        }
    }

    @Test("a client that disconnects mid-stream: q2api gives up its upstream request while the simulator still holds it")
    func clientDisconnect() async throws {
        try await withProxy { proxy in
            var request = HTTPClientRequest(url: proxy.baseURL + "/v1/messages")
            request.method = .POST
            request.headers.add(name: "x-api-key", value: ProxyHarness.apiKey)
            request.body = .bytes(ByteBuffer(string: claudeRequest("[[sim:hold]]", stream: true)))
            let task = Task {
                let response = try await proxy.client.execute(request, timeout: .seconds(30))
                for try await _ in response.body {}
            }
            try await proxy.eventually("the simulator holds the stream") { proxy.simulator.heldStreams == 1 }
            #expect(try await Self.accountInFlight(proxy) == 1, "the upstream request is running")
            let upstreamConnections = Self.establishedConnections(toLocalPort: proxy.simulatorPort)
            #expect(upstreamConnections.map { $0 >= 1 } ?? true, "the simulator sees the upstream connection")

            task.cancel()
            _ = await task.result

            // Checked while the simulator still holds the stream. A held stream writes nothing, so the simulator
            // cannot notice a closed connection (its open-stream count stays 1), and releasing it would end the
            // stream whether or not q2api had hung up: only q2api's side can show that the hang-up reached upstream.
            try await proxy.eventuallyAsync("the account has no request in flight", timeout: .seconds(5)) {
                try await Self.accountInFlight(proxy) == 0
            }
            if let upstreamConnections {
                // Linux only (/proc/net/tcp): the upstream TCP connection itself is gone from the simulator's side.
                try await proxy.eventually("the upstream connection is closed", timeout: .seconds(5)) {
                    (Self.establishedConnections(toLocalPort: proxy.simulatorPort) ?? 0) < upstreamConnections
                }
            }
            #expect(proxy.simulator.heldStreams == 1, "nothing released the held stream before those checks")

            proxy.simulator.releaseHeld()
            try await proxy.eventually("the simulator's stream has ended") { proxy.simulator.openStreams == 0 }
        }
    }

    /// The one account's `in_flight` as `/healthz` reports it on a loopback listener.
    static func accountInFlight(_ proxy: ProxyHarness) async throws -> Int? {
        let accounts = try await proxy.get("/healthz", headers: []).json?["accounts"] as? [String: Any]
        return (accounts?["items"] as? [[String: Any]])?.first?["in_flight"] as? Int
    }

    /// How many TCP connections to 127.0.0.1:`port` are established on the listening side, from `/proc/net/tcp`;
    /// nil where that file does not exist (not Linux).
    static func establishedConnections(toLocalPort port: Int) -> Int? {
        // Read to the end with FileHandle: String(contentsOfFile:) stops after the first 4 KiB of a /proc file.
        guard let file = FileHandle(forReadingAtPath: "/proc/net/tcp") else { return nil }
        defer { try? file.close() }
        let table = String(decoding: file.readDataToEndOfFile(), as: UTF8.self)
        let hex = String(port, radix: 16, uppercase: true)
        let local = "0100007F:" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
        return table.split(separator: "\n").dropFirst().count { line in
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            return fields.count > 3 && fields[1] == local && fields[3] == "01"  // 01: ESTABLISHED
        }
    }

    @Test("count_tokens matches message_start's input_tokens")
    func countTokens() async throws {
        try await withProxy { proxy in
            let request = claudeRequest("How many tokens is this sentence, roughly?", stream: true)
            let counted = try await proxy.post("/v1/messages/count_tokens", request)
            let stream = try await proxy.post("/v1/messages", request)
            let start = (sseData(stream.body).first?["message"] as? [String: Any])?["usage"] as? [String: Any]
            #expect(counted.json?["input_tokens"] as? Int == start?["input_tokens"] as? Int)
        }
    }

    @Test("/healthz answers without credentials and without touching the upstream")
    func health() async throws {
        try await withProxy { proxy in
            let reply = try await proxy.get("/healthz", headers: [])
            #expect(reply.status == 200)
            #expect((reply.json?["accounts"] as? [String: Any])?["total"] as? Int == 1)
            #expect(proxy.simulator.totalRequests == 0)
        }
    }

    @Test("a request fails over to another account when the first one's refresh token is refused")
    func failover() async throws {
        let accounts = """
              - id: broken
                client_id: c
                client_secret: s
                refresh_token: revoked-token
              - id: good
                client_id: c
                client_secret: s
                refresh_token: good-token
            """
        try await withProxy(simulator: SimulatorOptions(refreshTokens: ["good-token"]), accounts: accounts) { proxy in
            for _ in 0..<4 {
                let reply = try await proxy.post("/v1/messages", claudeRequest("hi"))
                #expect(reply.status == 200)
            }
        }
    }

    @Test("an expired access token is refreshed once and the request retried")
    func expiredToken() async throws {
        try await withProxy { proxy in
            _ = try await proxy.post("/v1/messages", claudeRequest("hi"))
            proxy.simulator.expireAllAccessTokens()
            let reply = try await proxy.post("/v1/messages", claudeRequest("hi again"))
            #expect(reply.status == 200)
            #expect(proxy.simulator.refreshCount == 2)
        }
    }
}

@Suite("A realistic Claude Code session", .serialized)
struct ClaudeCodeReplayTests {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/claude_code_session.json")

    @Test("a long tool-heavy session goes through without an upstream rejection")
    func replay() async throws {
        let request = try String(contentsOf: Self.fixture, encoding: .utf8)
        try await withProxy { proxy in
            let reply = try await proxy.post(
                "/v1/messages", request,
                headers: [
                    ("x-api-key", ProxyHarness.apiKey), ("anthropic-version", "2023-06-01"),
                    ("anthropic-beta", "claude-code-20250219,interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14"),
                    ("x-claude-code-session-id", "9d8e7f"),
                ])
            #expect(reply.status == 200, "the upstream (simulator) rejected the repaired request: \(reply.body.prefix(500))")
            #expect(sseText(reply.body) == "Summary: fixed the comparison in the parser.")
            let body = try #require(proxy.simulator.lastRequestBody)
            let history = body["conversationState"]?["history"]?.arrayValue ?? []
            #expect(history.count > 40, "the whole history reached the upstream")
        }
    }
}

@Suite("Upstream refusals in Claude's shape", .serialized)
struct UpstreamRefusalTests {
    @Test("the upstream's context-length error becomes Claude's prompt-is-too-long 400")
    func contextTooLong() async throws {
        try await withProxy { proxy in
            let reply = try await proxy.post("/v1/messages", claudeRequest("[[sim:toolong]]"))
            #expect(reply.status == 400)
            let message = (reply.json?["error"] as? [String: Any])?["message"] as? String ?? ""
            #expect(message.range(of: #"^prompt is too long: \d+ tokens > \d+ maximum$"#, options: .regularExpression) != nil, "\(message)")
        }
    }

    @Test("an overloaded upstream is a 529 overloaded_error once every account was tried")
    func overloaded() async throws {
        try await withProxy { proxy in
            let reply = try await proxy.post("/v1/messages", claudeRequest("[[sim:overloaded]]"))
            #expect(reply.status == 529)
            #expect((reply.json?["error"] as? [String: Any])?["type"] as? String == "overloaded_error")
        }
    }

    @Test("with models.unknown: reject, an unknown model is a 404 not_found_error")
    func unknownModel() async throws {
        try await withProxy(extraYAML: "models: {unknown: reject}") { proxy in
            let body = claudeRequest("hi").replacingOccurrences(of: "claude-sonnet-4-5-20250929", with: "gpt-17")
            let reply = try await proxy.post("/v1/messages", body)
            #expect(reply.status == 404)
            #expect((reply.json?["error"] as? [String: Any])?["type"] as? String == "not_found_error")
        }
    }
}
