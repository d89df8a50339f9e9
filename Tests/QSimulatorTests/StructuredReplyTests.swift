import ProxyModels
import Testing

@testable import QSimulator

@Suite("Structured replies (a model that follows a JSON-schema instruction)")
struct StructuredReplyTests {
    @Test("the schema is read from q2api's instruction, for both dialects' wording")
    func findsTheSchema() {
        let claude =
            "--- USER MESSAGE BEGIN ---\nhi\n\nRespond with only a single JSON value that conforms to this JSON schema, with no prose and no code fence: {\"type\":\"object\",\"required\":[\"a\"]}\n--- USER MESSAGE END ---"
        #expect(StructuredReply.schema(in: claude) == ["type": "object", "required": ["a"]])
        let openAI = "Respond with a single valid JSON object that conforms to this JSON schema, and nothing else: {\"type\":\"string\"}"
        #expect(StructuredReply.schema(in: openAI) == ["type": "string"])
        #expect(StructuredReply.schema(in: "no instruction here") == nil)
    }

    @Test("the reply is the smallest value of the schema")
    func smallestInstance() throws {
        let schema = try JSONParser.parse(
            #"{"type":"object","properties":{"name":{"type":"string"},"n":{"type":"integer","minimum":3},"tags":{"type":"array","items":{"enum":["a","b"]},"minItems":2},"kind":{"const":"k"},"opt":{"type":"string"}},"required":["name","n","tags","kind"]}"#
        )
        #expect(StructuredReply.instance(of: schema) == ["name": "x", "n": .int(3), "tags": ["a", "a"], "kind": "k"])
    }
}
