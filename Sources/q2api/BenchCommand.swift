import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import ProxyModels
import Translation

/// A closed-loop load generator for `scripts/bench`: N workers send streaming requests back to back for a bounded
/// time and record, per request, the time to the first body byte and to the last one.
///
/// It speaks three dialects so the same load can go through q2api (`claude`, `openai`) or straight to the
/// simulator (`upstream`: the Amazon Q payload q2api would send, with a token from the simulator's `/token`), which
/// gives every q2api figure its ceiling. Built on AsyncHTTPClient (SwiftNIO), with one pooled connection per
/// worker, so it costs about what the proxy's own upstream client costs.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Drive streaming load at a q2api server or a simulator and print one JSON line of results.")

    enum Dialect: String, ExpressibleByArgument, CaseIterable {
        case claude, openai, responses, upstream
    }

    @Option(help: "Base URL of the target (q2api, or the simulator for --dialect upstream).")
    var url: String

    @Option(help: "claude (/v1/messages), openai (/v1/chat/completions), responses (/v1/responses) or upstream (the simulator directly).")
    var dialect: Dialect = .claude

    @Option(help: "Concurrent workers (each keeps one request in flight).")
    var concurrency = 16

    @Option(help: "Seconds to run.")
    var seconds = 10.0

    @Option(help: "API key for q2api.")
    var apiKey = "sk-bench"

    @Option(help: "The user message (simulator markers such as [[sim:long:200000]] select a profile).")
    var message = "Tell me about event streams."

    @Option(help: "max_tokens of each request.")
    var maxTokens = 4096

    @Option(help: "Tools to declare (for the tool-call profile), as a JSON array of Claude tools.")
    var tools: String?

    func run() async throws {
        let body = try requestBody()
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: concurrency)
        configuration.timeout = .init(connect: .seconds(10), read: .seconds(120))
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        do {
            let headers = try await requestHeaders(client)
            let target =
                switch dialect {
                case .upstream: url
                case .claude: url + "/v1/messages"
                case .openai: url + "/v1/chat/completions"
                case .responses: url + "/v1/responses"
                }
            let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
            let started = ContinuousClock.now
            let samples = await withTaskGroup(of: [Sample].self) { group in
                for _ in 0..<concurrency {
                    group.addTask {
                        var samples: [Sample] = []
                        while ContinuousClock.now < deadline {
                            samples.append(await Self.one(client, url: target, headers: headers, body: body))
                        }
                        return samples
                    }
                }
                var all: [Sample] = []
                for await worker in group { all += worker }
                return all
            }
            let elapsed = started.duration(to: .now)
            print(Self.report(samples, elapsed: elapsed, dialect: dialect, concurrency: concurrency).jsonString)
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }

    struct Sample: Sendable {
        var ok: Bool
        var firstByte: Duration
        var total: Duration
        var bytes: Int
    }

    static func one(_ client: HTTPClient, url: String, headers: HTTPHeaders, body: [UInt8]) async -> Sample {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers = headers
        request.body = .bytes(ByteBuffer(bytes: body))
        let start = ContinuousClock.now
        var firstByte: Duration?
        var bytes = 0
        do {
            let response = try await client.execute(request, timeout: .seconds(120))
            for try await chunk in response.body {
                if firstByte == nil { firstByte = start.duration(to: .now) }
                bytes += chunk.readableBytes
            }
            let total = start.duration(to: .now)
            return Sample(ok: response.status == .ok, firstByte: firstByte ?? total, total: total, bytes: bytes)
        } catch {
            let total = start.duration(to: .now)
            return Sample(ok: false, firstByte: total, total: total, bytes: bytes)
        }
    }

    private func claudeBody() throws -> JSONValue {
        var body: JSONValue = [
            "model": "claude-sonnet-4-5", "max_tokens": .int(maxTokens), "stream": true,
            "messages": [["role": "user", "content": .string(message)]],
        ]
        if let tools {
            body = body.setting("tools", to: try JSONParser.parse(Array(tools.utf8)))
        }
        return body
    }

    private func requestBody() throws -> [UInt8] {
        switch dialect {
        case .claude:
            return try claudeBody().jsonBytes
        case .openai:
            let body: JSONValue = [
                "model": "claude-sonnet-4-5", "stream": true, "max_tokens": .int(maxTokens),
                "messages": [["role": "user", "content": .string(message)]],
            ]
            return body.jsonBytes
        case .responses:
            // Not stored: the benchmark measures the stream, not the archive's writes.
            let body: JSONValue = [
                "model": "claude-sonnet-4-5", "stream": true, "store": false, "max_output_tokens": .int(maxTokens), "input": .string(message),
            ]
            return body.jsonBytes
        case .upstream:
            let conversation = try ClaudeRequestDecoder.decode(try claudeBody())
            let plan = try UpstreamRequestBuilder.build(
                conversation,
                options: .init(
                    modelID: "claude-sonnet-4.5", currentTime: "Sunday, 2026-11-22T00:00:00.000+00:00", makeID: { UUID().uuidString.lowercased() }))
            return plan.body.jsonBytes
        }
    }

    private func requestHeaders(_ client: HTTPClient) async throws -> HTTPHeaders {
        var headers = HTTPHeaders([("content-type", "application/json")])
        switch dialect {
        case .claude:
            headers.add(name: "x-api-key", value: apiKey)
            headers.add(name: "anthropic-version", value: "2023-06-01")
        case .openai, .responses:
            headers.add(name: "authorization", value: "Bearer \(apiKey)")
        case .upstream:
            for header in RequestTemplate.builtIn.headers { headers.replaceOrAdd(name: header.name, value: header.value) }
            var request = HTTPClientRequest(url: url.hasSuffix("/") ? url + "token" : url + "/token")
            request.method = .POST
            request.headers.add(name: "content-type", value: "application/json")
            let grant: JSONValue = ["grantType": "refresh_token", "clientId": "bench", "clientSecret": "bench", "refreshToken": "bench"]
            request.body = .bytes(ByteBuffer(bytes: grant.jsonBytes))
            let response = try await client.execute(request, timeout: .seconds(10))
            let bytes = try await response.body.collect(upTo: 1 << 20)
            guard let token = (try? JSONParser.parse(Array(bytes.readableBytesView)))?["accessToken"]?.stringValue else {
                throw ValidationError("the simulator gave no access token (HTTP \(response.status.code))")
            }
            headers.replaceOrAdd(name: "authorization", value: "Bearer \(token)")
        }
        return headers
    }

    static func report(_ samples: [Sample], elapsed: Duration, dialect: Dialect, concurrency: Int) -> JSONValue {
        let ok = samples.filter(\.ok)
        func percentile(_ values: [Duration], _ p: Double) -> Double {
            guard !values.isEmpty else { return 0 }
            let sorted = values.sorted()
            let index = min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))
            let (seconds, attoseconds) = sorted[index].components
            return (Double(seconds) * 1000 + Double(attoseconds) / 1e15 * 1).rounded(toPlaces: 3)
        }
        let (s, a) = elapsed.components
        let elapsedSeconds = Double(s) + Double(a) / 1e18
        return [
            "dialect": .string(dialect.rawValue), "concurrency": .int(concurrency), "requests": .int(samples.count),
            "errors": .int(samples.count - ok.count), "seconds": .double(elapsedSeconds.rounded(toPlaces: 2)),
            "rps": .double((Double(ok.count) / max(elapsedSeconds, 0.001)).rounded(toPlaces: 1)),
            "ttft_p50_ms": .double(percentile(ok.map(\.firstByte), 0.5)), "ttft_p99_ms": .double(percentile(ok.map(\.firstByte), 0.99)),
            "latency_p50_ms": .double(percentile(ok.map(\.total), 0.5)), "latency_p99_ms": .double(percentile(ok.map(\.total), 0.99)),
            "bytes_per_reply": .int(ok.isEmpty ? 0 : ok.map(\.bytes).reduce(0, +) / ok.count),
        ]
    }
}

extension Double {
    fileprivate func rounded(toPlaces places: Int) -> Double {
        var factor = 1.0
        for _ in 0..<places { factor *= 10 }
        return (self * factor).rounded() / factor
    }
}
