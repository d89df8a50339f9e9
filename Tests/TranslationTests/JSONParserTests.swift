import ProxyModels
import Testing

@Suite("JSON parsing and writing")
struct JSONParserTests {
    @Test("a document round-trips with member order and number literals kept")
    func roundTrip() throws {
        let text = #"{"b":1,"a":[true,false,null,-0.5e3,"x\"y\\z\n\u00e9🙂"],"c":{}}"#
        let value = try JSONParser.parse(text)
        #expect(value.objectValue?.map(\.key) == ["b", "a", "c"])
        #expect(value["a"]?[3] == .number("-0.5e3"))
        #expect(value["a"]?[4]?.stringValue == "x\"y\\z\né🙂")
        #expect(try JSONParser.parse(value.jsonString) == value)
    }

    @Test(
        "errors name the line and column",
        arguments: [
            ("{\n  \"a\": tru\n}", 2, 8),
            ("[1, 2", 1, 6),
            ("{\"a\" 1}", 1, 6),
            ("\"abc", 1, 1),
        ])
    func errorPosition(text: String, line: Int, column: Int) {
        #expect {
            _ = try JSONParser.parse(text)
        } throws: { error in
            guard let error = error as? JSONParseError else { return false }
            return error.line == line && error.column == column
        }
    }

    @Test("deep nesting is refused instead of overflowing the stack")
    func deepNesting() {
        let text = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: JSONParseError.self) { try JSONParser.parse(text) }
    }

    @Test("invalid UTF-8, lone surrogates and control characters are refused")
    func invalidStrings() {
        #expect(throws: JSONParseError.self) { try JSONParser.parse([0x22, 0xFF, 0xFE, 0x22]) }
        #expect(throws: JSONParseError.self) { try JSONParser.parse(#""\ud800""#) }
        #expect(throws: JSONParseError.self) { try JSONParser.parse("\"a\u{01}b\"") }
        #expect(throws: JSONParseError.self) { try JSONParser.parse("01") }
        #expect(throws: JSONParseError.self) { try JSONParser.parse("{} x") }
    }

    @Test("control characters are escaped when written")
    func escaping() {
        let value = JSONValue.string("a\u{01}\t\"")
        #expect(value.jsonString == #""a\u0001\t\"""#)
    }
}
