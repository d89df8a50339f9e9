import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import ProxyServer
import QSimulator
import Testing

/// Upstream faults end with a clean client-visible result, the right account state, and no upstream stream left
/// open (the simulator counts them).
@Suite("Upstream faults")
struct FaultToleranceTests {
    private func health(_ harness: ProxyHarness) async throws -> [String: Any] {
        let items = try #require((try await harness.get("/healthz", headers: []).json?["accounts"] as? [String: Any])?["items"] as? [[String: Any]])
        return try #require(items.first)
    }

    @Test("a connection reset after the first byte ends the stream with an error event; nothing stays open")
    func resetMidStream() async throws {
        try await withProxy { harness in
            let reply = try await harness.post("/v1/messages", claudeRequest("hi [[sim:reset]]", stream: true))
            // A reset discards what the socket had not read yet: the client sees either part of the text and then
            // an error event, or (when nothing arrived before the reset) a plain error response.
            if reply.status == 200 {
                #expect("Partial answer before the reset".hasPrefix(sseText(reply.body)))
                #expect(sseEventNames(reply.body).last == "error")
                #expect(!sseEventNames(reply.body).contains("message_stop"))
            } else {
                #expect(reply.status >= 500)
                #expect(reply.json?["type"] as? String == "error")
            }
            try await harness.eventually("the upstream stream is closed") { harness.simulator.openStreams == 0 }
            #expect(try await health(harness)["state"] as? String == "active")
        }
    }

    @Test("a corrupt frame ends the stream with an error event, never with garbage text")
    func corruptFrame() async throws {
        try await withProxy { harness in
            let reply = try await harness.post("/v1/messages", claudeRequest("hi [[sim:corrupt]]", stream: true))
            #expect(reply.status == 200)
            #expect(!sseText(reply.body).contains("This one is corrupt"))
            #expect(sseEventNames(reply.body).last == "error")
            try await harness.eventually("the upstream stream is closed") { harness.simulator.openStreams == 0 }
        }
    }

    @Test("a stalled upstream stream is cut by upstream.read_timeout and reported to the client")
    func stalledStream() async throws {
        try await withProxy(readTimeout: "1s") { harness in
            // The simulator holds the stream until released: the reply can only end because the read timeout cut it.
            let reply = try await harness.post("/v1/messages", claudeRequest("hi [[sim:text:Started.]][[sim:hold]]", stream: true))
            #expect(reply.status == 200)
            #expect(sseText(reply.body).hasPrefix("Started."))
            #expect(sseEventNames(reply.body).last == "error")
            harness.simulator.releaseHeld()
            try await harness.eventually("the upstream stream is closed") { harness.simulator.openStreams == 0 }
        }
    }

    @Test("an OIDC endpoint that is down: a clear error, the account cools instead of being disabled")
    func oidcDown() async throws {
        try await withProxy(oidcEndpoint: "http://127.0.0.1:9") { harness in
            let reply = try await harness.post("/v1/messages", claudeRequest("hi"))
            #expect(reply.status == 529)
            let message = (reply.json?["error"] as? [String: Any])?["message"] as? String ?? ""
            #expect(message.contains("token"))
            let account = try await health(harness)
            #expect(account["state"] as? String == "cooling")
            #expect((account["reason"] as? String)?.contains("token refresh failed") == true)
        }
    }

    /// Sends a streaming request on a bare socket, reads until `marker` has arrived, then closes the
    /// socket: a client whose own deadline fired (a plain FIN, no HTTP-level goodbye). Returns when it hung up.
    private func hangUp(after marker: String, on text: String, _ harness: ProxyHarness) async throws {
        let port = try #require(Int(harness.baseURL.split(separator: ":").last ?? ""))
        let body = claudeRequest(text, stream: true)
        try await onOwnThread {
            let connection = try RawHTTPConnection(port: port)
            try connection.post("/v1/messages", json: body, headers: [("x-api-key", ProxyHarness.apiKey)])
            let received = try connection.receive(until: marker)
            #expect(received.contains(marker), "the reply should have started: \(received.prefix(300))")
            #expect(!received.contains("message_stop"), "the reply should still be running when the client hangs up")
            connection.hangUp()
        }
    }

    @Test("a client that hangs up while the upstream is silent: q2api cancels its upstream request at once")
    func clientHangsUpOnSilentUpstream() async throws {
        try await withProxy { harness in
            try await hangUp(after: "Begun", on: "hi [[sim:text:Begun.]][[sim:hold]]", harness)
            // Within the poll's 5 s: released because the client hung up, not by the next keep-alive write (15 s)
            // or the read timeout (300 s), the only other things that could notice.
            try await harness.eventuallyAsync("the account has no request in flight") {
                try await health(harness)["in_flight"] as? Int == 0
            }
            // A held simulator stream writes nothing, so it notices the closed connection only once released.
            harness.simulator.releaseHeld()
            try await harness.eventually("the upstream stream is released", timeout: .seconds(5)) { harness.simulator.openStreams == 0 }
        }
    }

    @Test("a client that hangs up before the first reply event: the exchange is cancelled, the account released")
    func clientHangsUpBeforeTheFirstEvent() async throws {
        for stream in [true, false] {
            try await withProxy { harness in
                let port = try #require(Int(harness.baseURL.split(separator: ":").last ?? ""))
                let body = claudeRequest("hi [[sim:hold]]", stream: stream)
                try await onOwnThread {
                    let connection = try RawHTTPConnection(port: port)
                    try connection.post("/v1/messages", json: body, headers: [("x-api-key", ProxyHarness.apiKey)])
                    Thread.sleep(forTimeInterval: 0.3)  // the upstream holds before its first event: nothing is sent yet
                    connection.hangUp()
                }
                // Within the poll's 5 s, while the upstream still holds: only the hang-up can have released it.
                try await harness.eventuallyAsync("the account has no request in flight") {
                    try await health(harness)["in_flight"] as? Int == 0
                }
                harness.simulator.releaseHeld()
                try await harness.eventually("the upstream stream is released", timeout: .seconds(5)) { harness.simulator.openStreams == 0 }
                // Nothing is stuck: the account serves the next request.
                #expect(try await harness.post("/v1/messages", claudeRequest("hi")).status == 200)
                #expect(try await health(harness)["in_flight"] as? Int == 0)
            }
        }
    }

    @Test("a client that hangs up mid-stream: the upstream stream is closed at once")
    func clientHangsUpMidStream() async throws {
        try await withProxy { harness in
            try await hangUp(after: "content_block_delta", on: "hi [[sim:delay:100]][[sim:long:50000]]", harness)
            // The reply would run for minutes (50,000 characters, 100 ms apart): released within the poll's 5 s means
            // the hang-up closed it.
            try await harness.eventually("the upstream stream is released", timeout: .seconds(5)) { harness.simulator.openStreams == 0 }
        }
    }

    @Test("a client that trickles its body gets a 408 in its dialect's shape at limits.body_timeout, and the connection closes")
    func tricklingBody() async throws {
        try await withProxy(extraYAML: "limits: {body_timeout: 1s}") { harness in
            let port = try #require(Int(harness.baseURL.split(separator: ":").last ?? ""))
            for (path, marker) in [("/v1/messages", "\"timeout_error\""), ("/v1/chat/completions", "\"error\"")] {
                let reply = try await onOwnThread {
                    let connection = try RawHTTPConnection(port: port, timeout: .seconds(15))
                    try connection.send(
                        "POST \(path) HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n"
                            + "x-api-key: \(ProxyHarness.apiKey)\r\n\r\n{\"model\":")
                    // Everything until the server closes the connection (recv returns 0); the 15 s receive timeout throws.
                    return try connection.receive(until: "\u{0}")
                }
                #expect(reply.hasPrefix("HTTP/1.1 408"), "\(path): \(reply.prefix(200))")
                #expect(reply.contains(marker), "\(path): \(reply)")
                #expect(reply.lowercased().contains("connection: close"))
            }
            // The server still serves.
            #expect(try await harness.post("/v1/messages", claudeRequest("hi")).status == 200)
        }
    }
}
