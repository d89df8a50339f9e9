import ProxyModels
import Testing

@testable import Translation

@Suite("The account's profile ARN goes through the request template")
struct ProfileARNTests {
    static let request = #"{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"Hello"}]}"#
    static let arn = "arn:aws:codewhisperer:us-east-1:123456789012:profile/ABC"

    @Test("an organisation account's body names its profile; other accounts send none")
    func perAccount() throws {
        let plan = try plan(Self.request)
        let organisation = plan.body(profileARN: Self.arn)
        #expect(organisation["profileArn"] == .string(Self.arn))
        #expect(organisation.objectValue?.map(\.key) == ["conversationState", "profileArn"], "in the template's place, after the conversation")
        #expect(plan.body["profileArn"] == nil)
        #expect(plan.body(profileARN: nil) == plan.body)
        #expect(plan.body(profileARN: "")["profileArn"] == nil, "an empty ARN is no ARN")
        #expect(organisation.setting("profileArn", to: nil) == plan.body, "nothing else differs between accounts")
    }

    @Test("the template decides where the profile ARN goes, or whether it is sent")
    func templatePlacement() throws {
        let nested = try RequestTemplate.compile(
            source:
                #"{"request": {"conversationState": {"currentMessage": {"userInputMessage": "{{current_message}}"}}, "meta": {"profile": "{{profile_arn}}"}}}"#,
            origin: "nested.json")
        let body = try plan(Self.request, template: nested).body(profileARN: Self.arn)
        #expect(body["meta"]?["profile"] == .string(Self.arn))
        #expect(body["profileArn"] == nil)

        let without = try RequestTemplate.compile(
            source: #"{"request": {"conversationState": {"currentMessage": {"userInputMessage": "{{current_message}}"}}}}"#, origin: "without.json")
        #expect(try plan(Self.request, template: without).body(profileARN: Self.arn).jsonString.contains("profile") == false)
    }
}
