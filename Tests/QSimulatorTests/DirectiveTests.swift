import Testing

@testable import QSimulator

@Suite("Directive scanning")
struct DirectiveTests {
    @Test("names and arguments are found anywhere, in order")
    func scan() {
        #expect(
            Directive.scan("a [[sim:usage]] b [[sim:text:Hi: there]] c [[sim:long:50]]")
                == [Directive(name: "usage"), Directive(name: "text", argument: "Hi: there"), Directive(name: "long", argument: "50")]
        )
        #expect(Directive.scan("no directives [[simple]] [sim:text:x]").isEmpty)
        #expect(Directive.scan("[[sim:text:]]") == [Directive(name: "text", argument: "")])
    }

    @Test("a JSON argument may contain ]] inside braces and strings")
    func jsonArgument() {
        let text = #"[[sim:tool:Bash:{"a":[[1]],"b":"]]","c":{"d":"\"}"}}]] tail [[sim:usage]]"#
        #expect(
            Directive.scan(text)
                == [Directive(name: "tool", argument: #"Bash:{"a":[[1]],"b":"]]","c":{"d":"\"}"}}"#), Directive(name: "usage")]
        )
    }

    @Test("unbalanced braces in plain text fall back to the first ]]")
    func unbalanced() {
        #expect(Directive.scan("[[sim:text:a { b]] [[sim:usage]]") == [Directive(name: "text", argument: "a { b"), Directive(name: "usage")])
        #expect(Directive.scan("[[sim:text:never closed").isEmpty)
    }

    @Test("tool arguments split into name and raw JSON; input is cut in thirds")
    func toolHelpers() {
        #expect(ReplyBuilder.splitTool("get_time") == ("get_time", ""))
        #expect(ReplyBuilder.splitTool(#"f:{"a":1}"#) == ("f", #"{"a":1}"#))
        #expect(ReplyBuilder.thirds("abcdefgh") == ["ab", "cde", "fgh"])
        #expect(ReplyBuilder.thirds("{}") == ["{", "}"])
        #expect(ReplyBuilder.thirds("").isEmpty)
    }

    @Test("lorem text has the exact length asked for")
    func lorem() {
        for count in [0, 1, 445, 446, 10_000] {
            #expect(CannedText.lorem(count: count).count == count)
        }
    }
}
