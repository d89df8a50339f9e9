import Foundation
import ProxyConfig
import ProxyServer
import QSimulator
import Testing

private let usageAdminKey = "usage-admin-key"

@Suite("Usage end to end")
struct UsageEndToEndTests {
    static var fastFlush: ReloadOptions {
        var options = ReloadOptions()
        options.reloadOnSignal = false
        options.pollInterval = nil
        options.environment = [:]
        options.statsFlushInterval = .milliseconds(100)
        return options
    }

    /// The sums of every line of a usage file.
    static func fileTotals(_ path: String) -> [String: Int] {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        var totals: [String: Int] = [:]
        for line in text.split(separator: "\n") {
            guard let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else { continue }
            for name in ["requests", "failures", "throttled", "input_tokens", "output_tokens"] {
                totals[name, default: 0] += object[name] as? Int ?? 0
            }
        }
        return totals
    }

    @Test("chat requests in three dialects land in the key's usage file, in /v2/usage and in /metrics; other routes do not count")
    func requestsAreCounted() async throws {
        try await withProxy(extraYAML: "admin_keys: [\"\(usageAdminKey)\"]", reload: Self.fastFlush) { harness in
            let key = ProxyConfig.APIKey.derivedName(for: Secret(ProxyHarness.apiKey))
            let claude = try await harness.post("/v1/messages", claudeRequest("hello"))
            #expect(claude.status == 200)
            let chat = try await harness.post(
                "/v1/chat/completions", #"{"model":"claude-sonnet-4.5","stream":true,"messages":[{"role":"user","content":"hi"}]}"#,
                headers: [("authorization", "Bearer \(ProxyHarness.apiKey)")])
            #expect(chat.status == 200)
            let responses = try await harness.post(
                "/v1/responses", #"{"model":"claude-sonnet-4.5","input":"hi"}"#, headers: [("authorization", "Bearer \(ProxyHarness.apiKey)")])
            #expect(responses.status == 200)
            let invalid = try await harness.post("/v1/messages", #"{"model":"claude-sonnet-4.5"}"#)
            #expect(invalid.status == 400)
            #expect(try await harness.get("/v1/models").status == 200)
            // A wrong key belongs to no key: not counted (no `anonymous` file appears).
            #expect(try await harness.post("/v1/messages", claudeRequest("hello"), headers: [("x-api-key", "wrong-key")]).status == 401)
            #expect(try await harness.get("/healthz").status == 200)

            let path = harness.stateDirectory + "/usage/\(key).jsonl"
            try await harness.eventually("the usage file holds the four chat requests") { Self.fileTotals(path)["requests"] == 4 }
            let totals = Self.fileTotals(path)
            #expect(totals["failures"] == 1)
            #expect(totals["throttled"] == 0)
            #expect((totals["input_tokens"] ?? 0) > 0 && (totals["output_tokens"] ?? 0) > 0)
            let files = try FileManager.default.contentsOfDirectory(atPath: harness.stateDirectory + "/usage")
            #expect(files == ["\(key).jsonl"])

            let admin = [("authorization", "Bearer \(usageAdminKey)")]
            let usage = try await harness.get("/v2/usage?range=24h&by=key", headers: admin)
            #expect(usage.status == 200)
            let json = try #require(usage.json)
            #expect(json["range"] as? String == "24h")
            #expect(json["bucket_seconds"] as? Int == 3600)
            let buckets = try #require(json["buckets"] as? [Int])
            #expect(buckets.count == 24)
            #expect(buckets.last == Int(Date().timeIntervalSince1970) / 3600 * 3600)
            let series = try #require(json["series"] as? [[String: Any]])
            #expect(series.map { $0["name"] as? String } == [key])
            #expect((series.first?["requests"] as? [Int])?.count == 24)
            #expect((series.first?["requests"] as? [Int])?.last == 4)
            let reportTotals = try #require(json["totals"] as? [String: Int])
            #expect(reportTotals["requests"] == 4 && reportTotals["failures"] == 1)
            #expect(reportTotals["output_tokens"] == totals["output_tokens"])
            let accounts = try #require(json["accounts"] as? [[String: Any]])
            #expect(accounts.first?["id"] as? String == "sim")
            #expect((accounts.first?["last_hour"] as? [Int])?.count == 60)
            #expect((accounts.first?["last_hour"] as? [Int])?.reduce(0, +) == 3)
            #expect(json["keys"] is [Any])

            let byAccount = try #require(try await harness.get("/v2/usage?range=30d&by=account", headers: admin).json)
            #expect((byAccount["buckets"] as? [Int])?.count == 30)
            #expect((byAccount["series"] as? [[String: Any]])?.compactMap { $0["name"] as? String } == ["", "sim"])

            let bad = try await harness.get("/v2/usage?range=1y", headers: admin)
            #expect(bad.status == 400)
            #expect(((bad.json?["error"] as? [String: Any])?["message"] as? String)?.contains("24h, 7d, 30d") == true)
            #expect(try await harness.get("/v2/usage?by=team", headers: admin).status == 400)
            #expect(try await harness.get("/v2/usage").status == 401)

            let metrics = try await harness.get("/metrics").body.split(separator: "\n")
            func value(_ name: String, _ labels: [String]) -> String? {
                metrics.first { $0.hasPrefix(name + "{") && labels.allSatisfy($0.contains) }?.split(separator: " ").last.map(String.init)
            }
            #expect(value("q2api_key_requests_total", [#"key="\#(key)""#, #"result="success""#]) == "3")
            #expect(value("q2api_key_requests_total", [#"key="\#(key)""#, #"result="failure""#]) == "1")
            #expect(value("q2api_key_output_tokens_total", [#"key="\#(key)""#]) == String(totals["output_tokens"] ?? -1))
            #expect(value("q2api_key_input_tokens_total", [#"key="\#(key)""#]) == String(totals["input_tokens"] ?? -1))
        }
    }

    @Test("/v2/usage shows a key without limits with its open stream and its requests of the last minute")
    func unlimitedKeyCurrentUse() async throws {
        try await withProxy(extraYAML: "admin_keys: [\"\(usageAdminKey)\"]", reload: Self.fastFlush) { harness in
            let key = ProxyConfig.APIKey.derivedName(for: Secret(ProxyHarness.apiKey))
            let admin = [("authorization", "Bearer \(usageAdminKey)")]
            @Sendable func current() async throws -> [String: Any] {
                let json = try await harness.get("/v2/usage", headers: admin).json
                let keys = (json?["keys"] as? [[String: Any]]) ?? []
                let entry = keys.first { $0["name"] as? String == key }
                #expect((entry?["limits"] as? [String: Any])?["concurrent_streams"] is NSNull)
                return (entry?["current"] as? [String: Any]) ?? [:]
            }
            #expect(try await harness.post("/v1/messages", claudeRequest("hello")).status == 200)
            let held = Task { try await harness.post("/v1/messages", claudeRequest("wait [[sim:hold]]", stream: true)) }
            try await harness.eventually("the stream is held") { harness.simulator.heldStreams == 1 }
            let open = try await current()
            #expect(open["streams"] as? Int == 1)
            #expect(open["requests_last_minute"] as? Int == 2)
            harness.simulator.releaseHeld()
            #expect(try await held.value.status == 200)
            try await harness.eventuallyAsync("the stream is closed") { try await current()["streams"] as? Int == 0 }
            #expect(try await current()["requests_last_minute"] as? Int == 2)
        }
    }
}
