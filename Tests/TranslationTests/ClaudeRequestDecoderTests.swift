import ProxyModels
import Testing

@testable import Translation

@Suite("Reading Claude requests")
struct ClaudeRequestDecoderTests {
    func decode(_ text: String) throws -> Conversation {
        try ClaudeRequestDecoder.decode(try JSONParser.parse(text))
    }

    @Test("everything Claude Code sends is accepted")
    func acceptsClaudeCodeShapes() throws {
        let conversation = try decode(
            #"""
            {"model":"claude-sonnet-4-5-20250929","max_tokens":32000,"stream":true,
             "system":[{"type":"text","text":"You are Claude Code.","cache_control":{"type":"ephemeral"}},{"type":"text","text":"Be terse."}],
             "metadata":{"user_id":"user_abc_session_123"},"temperature":1,"top_p":0.9,"top_k":5,
             "tool_choice":{"type":"auto"},"thinking":{"type":"enabled","budget_tokens":4096},
             "tools":[{"name":"Bash","description":"Run","input_schema":{"type":"object","properties":{"command":{"type":"string"}}},"cache_control":{"type":"ephemeral"}}],
             "messages":[
              {"role":"user","content":[{"type":"text","text":"hi","cache_control":{"type":"ephemeral"}}]},
              {"role":"assistant","content":[{"type":"thinking","thinking":"hmm","signature":"abc"},{"type":"redacted_thinking","data":"xyz"},
                 {"type":"tool_use","id":"t1","name":"Bash","input":{"command":"ls"}}]},
              {"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":[{"type":"text","text":"a.txt"}],"is_error":true}]}
             ]}
            """#)
        #expect(conversation.system == "You are Claude Code.\nBe terse.")
        #expect(conversation.sessionKey == "user_abc_session_123")
        #expect(conversation.thinking == .enabled(budgetTokens: 4096))
        #expect(conversation.stream)
        #expect(conversation.messages[1].content == [.thinking("hmm"), .toolUse(.init(id: "t1", name: "Bash", input: ["command": "ls"]))])
        #expect(conversation.messages[2].content == [.toolResult(.init(toolUseID: "t1", content: [.text("a.txt")], isError: true))])
    }

    @Test(
        "malformed requests name the field",
        arguments: [
            (#"{"max_tokens":1,"messages":[{"role":"user","content":"x"}]}"#, "model"),
            (#"{"model":"m","messages":[{"role":"user","content":"x"}]}"#, "max_tokens"),
            (#"{"model":"m","max_tokens":1}"#, "messages"),
            (#"{"model":"m","max_tokens":1,"messages":[{"role":"developer","content":"x"}]}"#, "messages.0.role"),
            (
                #"{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/bmp","data":"AAAA"}}]}]}"#,
                "messages.0.content.0.source.media_type"
            ),
            (
                #"{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"url","url":"http://x"}}]}]}"#,
                "messages.0.content.0.source.type"
            ),
            (#"{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"video"}]}]}"#, "messages.0.content.0.type"),
            (#"{"model":"m","max_tokens":1,"stream":"yes","messages":[{"role":"user","content":"x"}]}"#, "stream"),
            (
                #"{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"x"}],"thinking":{"type":"enabled","budget_tokens":10}}"#,
                "thinking.budget_tokens"
            ),
        ])
    func namesField(text: String, field: String) {
        #expect {
            _ = try decode(text)
        } throws: { error in
            (error as? RequestError)?.field == field
        }
    }

    @Test("image/jpg is normalised to the upstream's jpeg")
    func jpgNormalised() throws {
        let conversation = try decode(
            #"{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/jpg","data":"/9j/4AAQ"}}]}]}"#
        )
        #expect(conversation.messages[0].content == [.image(.init(format: "jpeg", base64: "/9j/4AAQ"))])
    }

    @Test("a -thinking model name turns thinking on")
    func thinkingByName() throws {
        let conversation = try decode(#"{"model":"claude-sonnet-4-5-thinking","max_tokens":1,"messages":[{"role":"user","content":"x"}]}"#)
        #expect(conversation.thinking == .enabled(budgetTokens: 16000))
    }
}
