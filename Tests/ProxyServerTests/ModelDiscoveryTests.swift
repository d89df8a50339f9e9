import Foundation
import ProxyModels
import QSimulator
import Testing

@Suite("Model discovery (ListAvailableModels)")
struct ModelDiscoveryTests {
    static let reported = ["claude-sonnet-4.5", "claude-haiku-4.5", "claude-opus-4.6"]

    @Test("a model only the account reports is listed, served by name, and new names of its family map onto it")
    func discoveredModelsAreServed() async throws {
        var options = SimulatorOptions()
        options.models = Self.reported
        try await withProxy(simulator: options) { proxy in
            // The first request refreshes the token; discovery asks the account with it.
            #expect(try await proxy.post("/v1/messages", claudeRequest("hi")).status == 200)
            try await proxy.eventually("the account's models are listed", timeout: .seconds(10)) { proxy.simulator.modelListings > 0 }
            var listed: [String] = []
            let deadline = ContinuousClock.now + .seconds(10)
            while ContinuousClock.now < deadline {
                let models = try await proxy.get("/v1/models", headers: [("x-api-key", ProxyHarness.apiKey), ("anthropic-version", "2023-06-01")])
                listed = ((models.json?["data"] as? [[String: Any]]) ?? []).compactMap { $0["id"] as? String }
                if listed.contains("claude-opus-4.6") { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(listed.contains("claude-opus-4.6"))
            #expect(listed.contains("claude-sonnet-4.5"), "configured models stay listed")

            for (name, upstream) in [
                ("claude-opus-5-5", "claude-opus-4.6"), ("claude-opus-4.6", "claude-opus-4.6"), ("claude-haiku-5-5", "claude-haiku-4.5"),
            ] {
                let reply = try await proxy.post("/v1/messages", #"{"model":"\#(name)","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}"#)
                #expect(reply.status == 200, "\(name): \(reply.body)")
                let modelID = proxy.simulator.lastRequestBody?["conversationState"]?["currentMessage"]?["userInputMessage"]?["modelId"]?.stringValue
                #expect(modelID == upstream, "\(name)")
            }
        }
    }

    @Test("models.discover: false serves exactly the configured list")
    func discoveryOff() async throws {
        var options = SimulatorOptions()
        options.models = Self.reported
        try await withProxy(simulator: options, extraYAML: "models: {discover: false}") { proxy in
            #expect(try await proxy.post("/v1/messages", claudeRequest("hi")).status == 200)
            try await Task.sleep(for: .seconds(3))
            #expect(proxy.simulator.modelListings == 0)
            let models = try await proxy.get("/v1/models")
            #expect(!models.body.contains("claude-opus-4.6"))
        }
    }
}
