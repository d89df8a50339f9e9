import Foundation
import ProxyModels
import Testing

@testable import Translation

/// `origin` is a per-kind template value: every user message (history included) carries the origin of the kind of
/// the account that sends the request, `KIRO_CLI` for OIDC accounts and `AI_EDITOR` for Kiro ones by default.
@Suite("The account kind's origin goes through the request template")
struct OriginTemplateTests {
    /// A system prompt, a tool use and its result: user messages in the history (the system pair's, the first
    /// turn's, the tool result's) and the current one.
    static let conversation = #"""
        {"model":"m","max_tokens":10,"system":"Be brief.","tools":[{"name":"read","description":"Reads","input_schema":{"type":"object"}}],
         "messages":[{"role":"user","content":"Read a"},
                     {"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"read","input":{"p":"a"}}]},
                     {"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"A"}]},
                     {"role":"assistant","content":"Done."},
                     {"role":"user","content":"Thanks"}]}
        """#
    static let arn = "arn:aws:codewhisperer:us-east-1:123456789012:profile/ABC"

    /// Every user message of a body: the history's, then the current one.
    private func userMessages(_ body: JSONValue) -> [JSONValue] {
        let history = body["conversationState"]?["history"]?.arrayValue ?? []
        return history.compactMap { $0["userInputMessage"] } + [body["conversationState"]?["currentMessage"]?["userInputMessage"]].compactMap { $0 }
    }

    @Test("an OIDC account's user messages say KIRO_CLI, a Kiro account's AI_EDITOR, history included; nothing else differs")
    func perKind() throws {
        let plan = try plan(Self.conversation)
        let template = RequestTemplate.builtIn
        #expect(template.origin(forKind: "oidc") == "KIRO_CLI")
        #expect(template.origin(forKind: "kiro") == "AI_EDITOR")

        let oidc = plan.body(profileARN: nil, origin: template.origin(forKind: "oidc"))
        #expect(oidc == plan.body, "the default body is an OIDC account's")
        #expect(userMessages(oidc).count == 4)
        #expect(userMessages(oidc).allSatisfy { $0["origin"] == "KIRO_CLI" })

        let kiro = plan.body(profileARN: Self.arn, origin: template.origin(forKind: "kiro"))
        #expect(userMessages(kiro).count == 4)
        #expect(userMessages(kiro).allSatisfy { $0["origin"] == "AI_EDITOR" })
        // Same members in the same places: the Kiro body is the OIDC one with two values changed.
        let back = plan.body(profileARN: Self.arn, origin: "KIRO_CLI")
        #expect(kiro.jsonString.replacingOccurrences(of: "AI_EDITOR", with: "KIRO_CLI") == back.jsonString)
        #expect(back.setting("profileArn", to: nil) == oidc)
    }

    @Test("a template's origins replace the built-in ones per kind; \"\" leaves the member out; {{origin}} may also go in request")
    func templateOrigins() throws {
        let onlyKiro = try RequestTemplate.compile(source: #"{"origins": {"kiro": "KIRO_IDE"}}"#, origin: "t.json")
        #expect(onlyKiro.origin(forKind: "oidc") == "KIRO_CLI", "a kind the file leaves out keeps the built-in origin")
        #expect(onlyKiro.origin(forKind: "kiro") == "KIRO_IDE")

        let noneForOIDC = try RequestTemplate.compile(source: #"{"origins": {"oidc": ""}}"#, origin: "t.json")
        let planned = try plan(Self.conversation, template: noneForOIDC)
        #expect(userMessages(planned.body).allSatisfy { $0["origin"] == nil })
        let kiro = planned.body(profileARN: nil, origin: noneForOIDC.origin(forKind: "kiro"))
        #expect(userMessages(kiro).allSatisfy { $0["origin"] == "AI_EDITOR" })
        // In the template's place, between the context and the model id.
        #expect(userMessages(kiro).last?.objectValue?.map(\.key) == ["content", "userInputMessageContext", "origin", "modelId"])

        let topLevel = try RequestTemplate.compile(
            source: #"{"request": {"conversationState": {"currentMessage": {"userInputMessage": "{{current_message}}"}}, "origin": "{{origin}}"}}"#,
            origin: "t.json")
        #expect(try plan(Self.conversation, template: topLevel).body(profileARN: nil, origin: "AI_EDITOR")["origin"] == "AI_EDITOR")
    }

    @Test("a template with a fixed origin (no {{origin}}) sends it for every kind, as before")
    func fixedOrigin() throws {
        let fixed = try RequestTemplate.compile(
            source: #"{"user_message": {"content": "{{content}}", "origin": "CLI", "modelId": "{{model_id}}"}}"#, origin: "t.json")
        let planned = try plan(Self.conversation, template: fixed)
        #expect(userMessages(planned.body(profileARN: nil, origin: "AI_EDITOR")).allSatisfy { $0["origin"] == "CLI" })
    }

    @Test("origins and {{origin}} are checked where they are written")
    func errors() {
        for (source, message) in [
            (#"{"origins": {"social": "AI_EDITOR"}}"#, "unknown account kind \"social\""),
            (#"{"origins": {"kiro": 1}}"#, "must be a string"),
            (#"{"origins": ["AI_EDITOR"]}"#, "origins must be an object"),
            (#"{"user_message": {"content": "{{content}} from {{origin}}"}}"#, "must be a member's whole value"),
            (#"{"user_message": {"content": "{{content}}", "tags": ["{{origin}}"]}}"#, "must be a member's whole value"),
            (#"{"assistant_message": {"content": "{{content}}", "origin": "{{origin}}"}}"#, "unknown placeholder {{origin}}"),
        ] {
            #expect {
                _ = try RequestTemplate.compile(source: source, origin: "t.json")
            } throws: { error in
                (error as? TemplateError)?.message.contains(message) == true
            }
        }
    }

    @Test("the Kiro version a refresh names is the one the template's kiro_headers name")
    func kiroVersion() throws {
        #expect(RequestTemplate.builtIn.kiroVersion == "0.7.45")
        let newer = try RequestTemplate.compile(
            source: #"{"kiro_headers": {"user-agent": "aws-sdk-js/1.0.34 ua/2.1 m/E KiroIDE-0.11.63-{{machine_id}}"}}"#, origin: "t.json")
        #expect(newer.kiroVersion == "0.11.63")
        let none = try RequestTemplate.compile(source: #"{"kiro_headers": {"user-agent": "something-else"}}"#, origin: "t.json")
        #expect(none.kiroVersion == "0.7.45", "a user agent without a KiroIDE version falls back to the built-in one")
    }
}
