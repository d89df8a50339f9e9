import Foundation
import Logging
import NIOHTTP1
import ProxyModels
import ProxyServer
import Testing

@Suite("/metrics, /healthz and /readyz end to end", .serialized)
struct ObservabilityEndToEndTests {
    static let secrets = [ProxyHarness.apiKey, "sim-refresh", "sim-secret", "sim-client"]

    @Test("after a success, a stream, an OpenAI call and a throttle, /metrics has the right series and no secret")
    func metricsAfterTraffic() async throws {
        try await withProxy { proxy in
            #expect(try await proxy.get("/readyz", headers: []).status == 200)
            #expect(try await proxy.post("/v1/messages", claudeRequest("hello")).status == 200)
            let stream = try await proxy.post("/v1/messages", claudeRequest("[[sim:text:Streamed words]]", stream: true))
            #expect(stream.status == 200)
            let openAI = try await proxy.post(
                "/v1/chat/completions", #"{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}"#,
                headers: [("authorization", "Bearer \(ProxyHarness.apiKey)")])
            #expect(openAI.status == 200)
            let unknown = try await proxy.post(
                "/v1/messages", claudeRequest("hello").replacingOccurrences(of: "claude-sonnet-4-5-20250929", with: "no-such-model-xyz"))
            #expect(unknown.status == 200)  // served by the default model; labelled `other`
            let throttled = try await proxy.post("/v1/messages", claudeRequest("[[sim:throttle]]"))
            #expect(throttled.status == 429)

            // The stream's access-log line and metrics are written once its last byte is out: wait for them.
            var text = ""
            let deadline = ContinuousClock.now + .seconds(5)
            repeat {
                let reply = try await proxy.get("/metrics", headers: [])  // public, like /healthz
                #expect(reply.status == 200)
                #expect(reply.headers.first(name: "content-type") == "text/plain; version=0.0.4; charset=utf-8")
                text = reply.body
                if sample(text, "q2api_time_to_first_token_seconds_count", ["endpoint": "/v1/messages"]) == 1,
                    sample(text, "q2api_streams_in_flight", [:]) == 0
                {
                    break
                }
                try await Task.sleep(for: .milliseconds(50))
            } while ContinuousClock.now < deadline

            let model = "claude-sonnet-4-5-20250929"
            #expect(sample(text, "q2api_requests_total", ["endpoint": "/v1/messages", "model": model, "status": "2xx"]) == 2)
            #expect(sample(text, "q2api_requests_total", ["endpoint": "/v1/messages", "model": model, "status": "4xx"]) == 1)
            #expect(sample(text, "q2api_requests_total", ["endpoint": "/v1/messages", "model": "other", "status": "2xx"]) == 1)
            // "other" is not a configured name.
            #expect(sample(text, "q2api_requests_total", ["endpoint": "/v1/chat/completions", "model": "other", "status": "2xx"]) == 1)
            #expect(sample(text, "q2api_requests_total", ["endpoint": "/readyz", "model": "none", "status": "2xx"]) == 1)
            #expect(sample(text, "q2api_request_duration_seconds_count", ["endpoint": "/v1/messages"]) == 4)
            #expect(sample(text, "q2api_time_to_first_token_seconds_count", ["endpoint": "/v1/messages"]) == 1)
            #expect(sample(text, "q2api_upstream_errors_total", ["reason": "throttled"]) == 1)
            #expect(sample(text, "q2api_account_state", ["account": "sim", "state": "cooling"]) == 1)
            #expect(sample(text, "q2api_account_state", ["account": "sim", "state": "active"]) == 0)
            #expect(sample(text, "q2api_accounts_usable", [:]) == 0)
            #expect(sample(text, "q2api_accounts_total", [:]) == 1)
            #expect((sample(text, "q2api_input_tokens_total", ["model": model]) ?? 0) > 0)
            #expect((sample(text, "q2api_output_tokens_total", ["model": model]) ?? 0) > 0)
            #expect((sample(text, "q2api_output_tokens_total", ["model": "other"]) ?? 0) > 0)
            #expect((sample(text, "q2api_token_refreshes_total", ["result": "success"]) ?? 0) >= 1)
            #expect(sample(text, "q2api_streams_in_flight", [:]) == 0)
            #expect(sample(text, "q2api_build_info", ["version": BuildInfo.version]) == 1)
            #expect(sample(text, "q2api_config_generation", [:]) == 1)
            #expect(sample(text, "q2api_config_reloads_total", ["result": "failure"]) == 0)
            #expect(sample(text, "q2api_config_last_reload_successful", [:]) == 1)
            #expect((sample(text, "q2api_config_last_reload_success_timestamp_seconds", [:]) ?? 0) > 1_700_000_000)
            #expect(text.contains("# TYPE q2api_request_duration_seconds histogram"))
            #expect(text.contains("# TYPE q2api_requests_total counter"))

            // With its only account cooling, the proxy is alive but not ready.
            let ready = try await proxy.get("/readyz", headers: [])
            #expect(ready.status == 503)
            let health = try await proxy.get("/healthz", headers: [])
            #expect(health.status == 200)
            let accounts = health.json?["accounts"] as? [String: Any]
            #expect((accounts?["by_state"] as? [String: Any])?["cooling"] as? Int == 1)
            #expect(accounts?["usable"] as? Int == 0)
            let config = health.json?["config"] as? [String: Any]
            #expect(config?["generation"] as? Int == 1)
            #expect(config?.keys.contains("last_reload_error") == true)

            for secret in Self.secrets {
                #expect(!text.contains(secret), "/metrics must not contain \(secret)")
                #expect(!health.body.contains(secret), "/healthz must not contain \(secret)")
                #expect(!ready.body.contains(secret), "/readyz must not contain \(secret)")
            }
        }
    }

    @Test("/metrics needs no API key; the API still does")
    func metricsIsPublic() async throws {
        try await withProxy { proxy in
            let metrics = try await proxy.get("/metrics", headers: [])
            let models = try await proxy.get("/v1/models", headers: [])
            #expect(metrics.status == 200)
            #expect(models.status == 401)
        }
    }
}

@Suite("Metric labels and the registry")
struct ObservabilityMetricsTests {
    @Test("endpoint, status and model labels are bounded")
    func boundedLabels() {
        #expect(ProxyMetrics.endpointLabel("/v1/messages") == "/v1/messages")
        #expect(ProxyMetrics.endpointLabel("/v1/models/claude-sonnet-4.5") == "/v1/models/{id}")
        #expect(ProxyMetrics.endpointLabel("/wp-admin/login.php") == "other")
        #expect(ProxyMetrics.statusClass(200) == "2xx")
        #expect(ProxyMetrics.statusClass(429) == "4xx")
        #expect(ProxyMetrics.statusClass(529) == "5xx")
        var settings = ServerSettings()
        settings.modelNames = ["claude-sonnet-4.5", "gpt-4o"]
        #expect(settings.metricModel("Claude-Sonnet-4.5") == "claude-sonnet-4.5")
        #expect(settings.metricModel("claude-sonnet-4.5-thinking") == "claude-sonnet-4.5-thinking")
        #expect(settings.metricModel("random-\(UUID())") == "other")
    }

    @Test("an account id that looks like an e-mail address never becomes a label")
    func accountLabels() {
        #expect(ProxyMetrics.accountLabel("main") == "main")
        let hidden = ProxyMetrics.accountLabel("someone@example.com")
        #expect(hidden.hasPrefix("acct-") && !hidden.contains("someone") && !hidden.contains("@"))
        #expect(hidden == ProxyMetrics.accountLabel("someone@example.com"))
        let metrics = ProxyMetrics()
        metrics.updateAccounts([(id: "someone@example.com", state: "active", inFlight: 0)], usable: 1)
        #expect(!String(decoding: metrics.render(), as: UTF8.self).contains("example.com"))
    }

    @Test("account series follow the pool: every state per account, removed accounts disappear")
    func accountSeries() {
        let metrics = ProxyMetrics()
        metrics.updateAccounts([(id: "a", state: "active", inFlight: 2), (id: "b", state: "suspended", inFlight: 0)], usable: 1)
        var text = String(decoding: metrics.render(), as: UTF8.self)
        #expect(sample(text, "q2api_account_state", ["account": "a", "state": "active"]) == 1)
        #expect(sample(text, "q2api_account_state", ["account": "a", "state": "cooling"]) == 0)
        #expect(sample(text, "q2api_account_state", ["account": "b", "state": "suspended"]) == 1)
        #expect(sample(text, "q2api_account_in_flight", ["account": "a"]) == 2)
        metrics.updateAccounts([(id: "a", state: "cooling", inFlight: 0)], usable: 0)
        text = String(decoding: metrics.render(), as: UTF8.self)
        #expect(sample(text, "q2api_account_state", ["account": "a", "state": "cooling"]) == 1)
        #expect(sample(text, "q2api_account_state", ["account": "a", "state": "active"]) == 0)
        #expect(!text.contains(#"account="b""#))
    }

    @Test("each ProxyMetrics has its own registry; reloads are counted from the runtime's record")
    func ownRegistryAndReloads() {
        let first = ProxyMetrics()
        let second = ProxyMetrics()
        first.recordUpstreamError(.suspended)
        first.syncReloads(succeeded: 2, failed: 1, lastSuccessUnixTime: 1_750_000_000, lastAttemptFailed: true)
        first.syncReloads(succeeded: 3, failed: 1, lastSuccessUnixTime: 1_750_000_100, lastAttemptFailed: false)
        let text = String(decoding: first.render(), as: UTF8.self)
        #expect(sample(text, "q2api_upstream_errors_total", ["reason": "suspended"]) == 1)
        #expect(sample(text, "q2api_config_reloads_total", ["result": "success"]) == 3)
        #expect(sample(text, "q2api_config_reloads_total", ["result": "failure"]) == 1)
        #expect(sample(text, "q2api_config_last_reload_successful", [:]) == 1)
        #expect(sample(text, "q2api_config_last_reload_success_timestamp_seconds", [:]) == 1_750_000_100)
        #expect(!String(decoding: second.render(), as: UTF8.self).contains("q2api_upstream_errors_total"))
    }
}

@Suite("Access log line")
struct ObservabilityAccessLogTests {
    @Test("one line with id, dialect, model, account, status, first token, duration and usage; no secret")
    func accessLogLine() throws {
        let capture = CapturedLogs()
        let logger = Logger(label: "access") { _ in CapturingLogHandler(capture: capture) }
        let started = ContinuousClock.now - .milliseconds(1500)
        let recorder = AccessLogRecorder(started: started)
        recorder.update {
            $0.model = "claude-sonnet-4-5"
            $0.metricModel = "claude-sonnet-4-5"
            $0.account = "main"
            $0.stream = true
            $0.inputTokens = 12
            $0.outputTokens = 34
            $0.attempts = 2
            $0.upstreamError = "throttled"
        }
        recorder.markFirstToken(at: started + .milliseconds(250))
        recorder.markFirstToken(at: started + .milliseconds(900))  // only the first counts
        let metrics = ProxyMetrics()
        AccessLogLine(
            logger: logger, metrics: metrics, recorder: recorder, requestID: "req_abc", method: "POST", path: "/v1/messages", status: 200,
            dialect: "claude"
        ).write()
        let entries = capture.entries
        #expect(entries.count == 1)
        let line = try #require(entries.first)
        #expect(line.level == .info)
        #expect(line.message == "request")
        #expect(line.metadata["request.id"] == "req_abc")
        #expect(line.metadata["dialect"] == "claude")
        #expect(line.metadata["model"] == "claude-sonnet-4-5")
        #expect(line.metadata["account"] == "main")
        #expect(line.metadata["status"] == "200")
        #expect(line.metadata["ttft_ms"] == "250")
        #expect(Int(line.metadata["duration_ms"] ?? "") ?? 0 >= 1500)
        #expect(line.metadata["input_tokens"] == "12")
        #expect(line.metadata["output_tokens"] == "34")
        #expect(line.metadata["attempts"] == "2")
        #expect(line.metadata["upstream_error"] == "throttled")
        let text = String(decoding: metrics.render(), as: UTF8.self)
        #expect(sample(text, "q2api_time_to_first_token_seconds_count", ["endpoint": "/v1/messages"]) == 1)
        #expect(sample(text, "q2api_input_tokens_total", ["model": "claude-sonnet-4-5"]) == 12)

        // Probes and scrapes are logged at debug level.
        AccessLogLine(
            logger: logger, metrics: nil, recorder: AccessLogRecorder(), requestID: "req_def", method: "GET", path: "/metrics", status: 200,
            dialect: "claude"
        ).write()
        #expect(capture.entries.last?.level == .debug)
    }

    @Test("a request that never reached the upstream logs only the basic fields")
    func basicFields() {
        let recorder = AccessLogRecorder()
        let metadata = recorder.metadata(requestID: "req_x", method: "POST", path: "/v1/messages", status: 401, dialect: "claude", at: .now)
        #expect(Set(metadata.keys) == ["request.id", "method", "path", "status", "dialect", "duration_ms"])
    }
}

// MARK: - Helpers

/// The value of the sample `name{labels}` in Prometheus text (labels matched exactly, in any order).
func sample(_ text: String, _ name: String, _ labels: [String: String]) -> Double? {
    for line in text.split(separator: "\n") where !line.hasPrefix("#") {
        guard let space = line.lastIndex(of: " ") else { continue }
        let series = line[..<space]
        let value = Double(line[line.index(after: space)...])
        var seriesName = Substring(series)
        var seriesLabels: [String: String] = [:]
        if let brace = series.firstIndex(of: "{") {
            seriesName = series[..<brace]
            let inner = series[series.index(after: brace)..<(series.lastIndex(of: "}") ?? series.endIndex)]
            // Label values in these tests contain no `",`; split on it.
            for pair in inner.components(separatedBy: "\",") where !pair.isEmpty {
                let parts = pair.split(separator: "=", maxSplits: 1)
                guard parts.count == 2 else { continue }
                seriesLabels[String(parts[0])] = String(parts[1]).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            }
        }
        if seriesName == name && seriesLabels == labels { return value }
    }
    return nil
}

final class CapturedLogs: @unchecked Sendable {
    struct Entry {
        var level: Logger.Level
        var message: String
        var metadata: [String: String]
    }

    private let lock = NSLock()
    private var stored: [Entry] = []

    var entries: [Entry] { lock.withLock { stored } }

    func append(_ entry: Entry) { lock.withLock { stored.append(entry) } }
}

struct CapturingLogHandler: LogHandler {
    let capture: CapturedLogs
    var logLevel: Logger.Level = .trace
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        capture.append(.init(level: event.level, message: "\(event.message)", metadata: merged.mapValues { "\($0)" }))
    }
}
