import Testing

@testable import Translation

/// The request headers each account kind sends: one template, the kind filling in its own values.
@Suite("Request headers per account kind")
struct KiroHeadersTemplateTests {
    private func dictionary(_ headers: [(name: String, value: String)]) -> [String: String] {
        Dictionary(headers.map { ($0.name, $0.value) }, uniquingKeysWith: { first, _ in first })
    }

    @Test("an OIDC account sends the template's headers exactly as before, in the same order")
    func oidcUnchanged() {
        let template = RequestTemplate.builtIn
        let oidc = template.headers(kiroMachineID: nil)
        #expect(oidc.map(\.name) == template.headers.map(\.name))
        #expect(oidc.map(\.value) == template.headers.map(\.value))
        #expect(dictionary(oidc)["user-agent"]?.hasSuffix("app/AmazonQ-For-CLI") == true)
        #expect(dictionary(oidc)["x-amzn-kiro-agent-mode"] == nil)
    }

    @Test("a Kiro account sends the Kiro IDE's user agents with its machine id, and keeps the other headers")
    func kiroHeaders() {
        let template = RequestTemplate.builtIn
        let id = String(repeating: "ab", count: 32)
        let kiro = dictionary(template.headers(kiroMachineID: id))
        #expect(kiro["user-agent"]?.hasSuffix("m/E KiroIDE-0.7.45-\(id)") == true)
        #expect(kiro["x-amz-user-agent"] == "aws-sdk-js/1.0.27 KiroIDE-0.7.45-\(id)")
        #expect(kiro["x-amzn-kiro-agent-mode"] == "vibe")
        #expect(kiro["x-amz-target"] == "AmazonCodeWhispererStreamingService.GenerateAssistantResponse")
        #expect(kiro["content-type"] == "application/x-amz-json-1.0")
        #expect(template.headers(kiroMachineID: id).count == template.headers.count + 1)
    }

    @Test("a template file may set its own kiro_headers; {{machine_id}} is their only placeholder")
    func customKiroHeaders() throws {
        let template = try RequestTemplate.compile(source: #"{"kiro_headers": {"User-Agent": "KiroIDE-9.9-{{machine_id}}"}}"#, origin: "t.json")
        #expect(dictionary(template.headers(kiroMachineID: "m1"))["user-agent"] == "KiroIDE-9.9-m1")
        #expect(dictionary(template.headers(kiroMachineID: "m1"))["x-amzn-kiro-agent-mode"] == nil)
        #expect(throws: TemplateError.self) {
            _ = try RequestTemplate.compile(source: #"{"kiro_headers": {"user-agent": "{{model_id}}"}}"#, origin: "t.json")
        }
    }
}
