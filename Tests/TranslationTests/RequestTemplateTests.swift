import ProxyModels
import Testing

@testable import Translation

@Suite("Request template engine")
struct RequestTemplateTests {
    @Test("a placeholder is replaced structurally, and an absent value removes its member")
    func structural() throws {
        let template = RequestTemplate.builtIn
        let message = template.render(.userMessage, ["content": "say \"hi\"\n}", "model_id": "m"])
        #expect(message["content"] == "say \"hi\"\n}")
        #expect(message["images"] == nil)
        #expect(message["userInputMessageContext"]?["tools"] == nil)
        #expect(try JSONParser.parse(message.jsonString) == message, "no content can break the JSON")
    }

    @Test("a template file may override one section; the rest stay built in")
    func partialOverride() throws {
        let template = try RequestTemplate.compile(source: #"{"user_message": {"content": "{{content}}", "origin": "CLI"}}"#, origin: "t.json")
        #expect(template.render(.userMessage, ["content": "x"]) == ["content": "x", "origin": "CLI"])
        #expect(template.renderText(.systemAcknowledgement) == RequestTemplate.builtIn.renderText(.systemAcknowledgement))
    }

    @Test("an unknown placeholder is an error at its line and column")
    func unknownPlaceholder() {
        let source = "{\n  \"user_message\": {\n    \"content\": \"{{contnet}}\"\n  }\n}"
        #expect {
            _ = try RequestTemplate.compile(source: source, origin: "t.json")
        } throws: { error in
            guard let error = error as? TemplateError else { return false }
            return error.line == 3 && error.column == 17 && error.message.contains("{{contnet}}") && error.description.hasPrefix("t.json:3:17:")
        }
    }

    @Test("invalid JSON and unknown sections are errors with a position")
    func invalid() {
        #expect(throws: TemplateError.self) { _ = try RequestTemplate.compile(source: "{\"request\": ", origin: "t.json") }
        #expect(throws: TemplateError.self) { _ = try RequestTemplate.compile(source: "{\"reqest\": {}}", origin: "t.json") }
        #expect(throws: TemplateError.self) { _ = try RequestTemplate.compile(source: "{\"system_prompt\": {}}", origin: "t.json") }
    }

    @Test("placeholders inside longer strings are replaced by text")
    func interpolation() {
        let text = RequestTemplate.builtIn.renderText(.userContent, ["text": "hello", "time": "now"])
        #expect(
            text
                == "--- CONTEXT ENTRY BEGIN ---\nCurrent time: now\n--- CONTEXT ENTRY END ---\n\n--- USER MESSAGE BEGIN ---\nhello\n--- USER MESSAGE END ---"
        )
    }
}
