import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import ProxyModels
import Testing

@testable import QSimulator

/// `plan:` scripts a whole agent loop up front; `recall:` proves a history reached the service.
@Suite("Plans and recall")
struct PlanDirectiveTests {
    /// A plan of three steps: Write, Read, then a final text.
    static let plan =
        #"[[sim:plan:{"steps":["[[sim:tool:Write:{\"file_path\":\"/p/a.txt\",\"content\":\"hi\"}]]","[[sim:tool:Read:{\"file_path\":\"/p/a.txt\"}]]","[[sim:text:All done.]]"]}]]"#

    /// The system prompt as q2api sends it: a leading user/assistant pair.
    static let systemPair: [(role: String, message: JSONValue)] = [
        ("user", QBody.user("You are Claude Code. Follow the rules.")),
        ("assistant", QBody.assistant("Understood.")),
    ]

    static let tools = [QBody.tool("Write"), QBody.tool("Read"), QBody.tool("Bash")]

    /// The directives and step a request gets, without going through HTTP.
    static func script(
        content: String, toolResults: [String] = [], history: [(AssistantRequest.PriorMessage.Role, String)] = []
    ) -> (directives: [Directive], planStep: Int?) {
        let request = AssistantRequest(
            conversationID: QBody.conversationID, content: content,
            toolResults: toolResults.enumerated().map { AssistantRequest.ToolResult(toolUseID: "t\($0.offset)", text: $0.element) },
            history: history.map { AssistantRequest.PriorMessage(role: $0.0, text: $0.1) }
        )
        return ReplyBuilder(request: request, options: SimulatorOptions()).script
    }

    static let write = Directive(name: "tool", argument: #"Write:{"file_path":"/p/a.txt","content":"hi"}"#)
    static let read = Directive(name: "tool", argument: #"Read:{"file_path":"/p/a.txt"}"#)
    static let done = Directive(name: "text", argument: "All done.")

    @Test("the step is the number of assistant messages after the plan's user message")
    func stepCounting() {
        // The first request: the plan is in the current message, together with folded system text.
        #expect(Self.script(content: "<system-reminder>x</system-reminder>\n" + Self.plan + "\n# Environment\ncwd: /p") == ([Self.write], 0))
        // The leading system pair does not count; tool results without markers follow the plan.
        let afterWrite: [(AssistantRequest.PriorMessage.Role, String)] = [
            (.user, "You are Claude Code."), (.assistant, "Understood."), (.user, "Please. " + Self.plan), (.assistant, "Calling Write."),
        ]
        #expect(Self.script(content: "", toolResults: ["File created successfully at: /p/a.txt"], history: afterWrite) == ([Self.read], 1))
        let afterRead = afterWrite + [(.user, "File created successfully at: /p/a.txt"), (.assistant, "Calling Read.")]
        #expect(Self.script(content: "", toolResults: ["1\thi"], history: afterRead) == ([Self.done], 2))
        // Every step played: the default reply (no directives).
        let afterDone = afterRead + [(.user, "1\thi"), (.assistant, "All done.")]
        #expect(Self.script(content: "And now?", history: afterDone) == ([], nil))
    }

    @Test("the current message's own directives win; the most recent plan counts; a plan may sit in a tool result")
    func precedence() {
        let history: [(AssistantRequest.PriorMessage.Role, String)] = [(.user, Self.plan), (.assistant, "Calling Write.")]
        #expect(Self.script(content: "", toolResults: ["ok [[sim:text:own]]"], history: history) == ([Directive(name: "text", argument: "own")], nil))
        #expect(Self.script(content: "[[sim:echo]] " + Self.plan) == ([Directive(name: "echo")], nil))

        // A second prompt with its own plan starts over at its step 0, whatever came before.
        let second = #"[[sim:plan:{"steps":["[[sim:text:second plan]]"]}]]"#
        let longHistory = history + [(.user, "File created"), (.assistant, "Calling Read."), (.user, "1\thi"), (.assistant, "All done.")]
        #expect(Self.script(content: second, history: longHistory) == ([Directive(name: "text", argument: "second plan")], 0))

        // A plan in a tool result's text (a Bash that prints one) drives the turns after it.
        #expect(Self.script(content: "", toolResults: ["out " + second], history: history) == ([Directive(name: "text", argument: "second plan")], 0))

        // Several directives per step, failure directives included.
        let mixed = #"[[sim:plan:{"steps":["[[sim:throttle:profile/A]] [[sim:text:after]]"]}]]"#
        #expect(Self.script(content: mixed) == ([Directive(name: "throttle", argument: "profile/A"), Directive(name: "text", argument: "after")], 0))
    }

    @Test("a plan that is not {\"steps\": [strings], \"when\": {text: string}} is answered with a text that says why")
    func invalidPlans() {
        #expect(AgentPlan.parse(#"{"steps":["a","b"]}"#) == .success(AgentPlan(steps: ["a", "b"])))
        #expect(
            AgentPlan.parse(#"{"steps":[],"when":{"x":"y","z":"w"}}"#)
                == .success(AgentPlan(steps: [], when: [.init(needle: "x", directives: "y"), .init(needle: "z", directives: "w")]))
        )
        #expect(AgentPlan.parse("{nope") == .failure(.init(reason: "its argument is not a JSON object")))
        #expect(AgentPlan.parse(#"["a"]"#) == .failure(.init(reason: "its argument is not a JSON object")))
        #expect(AgentPlan.parse(#"{"step":[]}"#) == .failure(.init(reason: #"it has no "steps" array"#)))
        #expect(AgentPlan.parse(#"{"steps":["a",1]}"#) == .failure(.init(reason: "step 1 is not a string")))
        #expect(AgentPlan.parse(#"{"steps":[],"when":[]}"#) == .failure(.init(reason: #""when" is not an object"#)))
        #expect(AgentPlan.parse(#"{"steps":[],"when":{"a":1}}"#) == .failure(.init(reason: #""when" rule 'a' is not a string"#)))
        let answer = Self.script(content: #"[[sim:plan:{"steps":"x"}]]"#)
        #expect(answer.planStep == 0)
        #expect(answer.directives.first?.argument?.contains("the plan is invalid") == true)
    }

    @Test("when: a later request whose current message contains a text gets the rule's directives instead of its step")
    func whenRules() {
        let plan = #"[[sim:plan:{"steps":["[[sim:tool:Bash:{}]]","[[sim:tool:Bash:{}]]"],"when":{"detailed summary":"[[sim:text:The summary.]]"}}]]"#
        // Not on the plan's own request, even though the plan's text contains the needle.
        #expect(Self.script(content: "Go. " + plan) == ([Directive(name: "tool", argument: "Bash:{}")], 0))
        let history: [(AssistantRequest.PriorMessage.Role, String)] = [(.user, "Go. " + plan), (.assistant, "Calling Bash.")]
        #expect(Self.script(content: "", toolResults: ["out"], history: history) == ([Directive(name: "tool", argument: "Bash:{}")], 1))
        #expect(
            Self.script(content: "Write a detailed summary of the conversation.", toolResults: ["out"], history: history)
                == ([Directive(name: "text", argument: "The summary.")], 1)
        )
        // Also once every step was played.
        let longer = history + [(.user, "out"), (.assistant, "Calling Bash."), (.user, "out"), (.assistant, "Done.")]
        #expect(Self.script(content: "a detailed summary please", history: longer) == ([Directive(name: "text", argument: "The summary.")], 3))
        #expect(Self.script(content: "more", history: longer) == ([], nil))
    }

    @Test("say: replies with a JSON string's text, which may hold ]] and directives")
    func say() async throws {
        try await Simulator.application(state: SimulatorState()).test(.router) { client in
            let reply = Reply(try await Simulator.ask(client, #"[[sim:say:{"text":"Next: [[sim:plan:{\"steps\":[\"[[sim:text:x]]\"]}]] ok"}]]"#))
            #expect(reply.text == #"Next: [[sim:plan:{"steps":["[[sim:text:x]]"]}]] ok"#)
            #expect(reply.textPieces.count > 1)
        }
    }

    @Test("end to end: a plan drives a Write, Read, text loop whose tool results carry no marker")
    func agentLoop() async throws {
        let state = SimulatorState()
        try await Simulator.application(state: state).test(.router) { client in
            let token = try await Simulator.accessToken(client)

            // Step 0: the plan's own request.
            let first = Reply(
                try await Simulator.ask(
                    client, token: token, body: QBody.request(QBody.user("Please. " + Self.plan), history: Self.systemPair, tools: Self.tools)
                )
            )
            #expect(first.text == "Calling Write.")
            let writeCall = try #require(first.toolEvents.first)
            #expect(writeCall["name"]?.stringValue == "Write")
            let writeID = try #require(writeCall["toolUseId"]?.stringValue)
            let writeInput = first.toolEvents.compactMap { $0["input"]?.stringValue }.joined()
            #expect(writeInput == #"{"file_path":"/p/a.txt","content":"hi"}"#)

            // Step 1: the Write's result carries no marker.
            let history =
                Self.systemPair + [
                    ("user", QBody.user("Please. " + Self.plan)),
                    (
                        "assistant",
                        QBody.assistant(
                            "Calling Write.", toolUses: [QBody.toolUse(writeID, "Write", input: ["file_path": "/p/a.txt", "content": "hi"])])
                    ),
                ]
            let second = Reply(
                try await Simulator.ask(
                    client, token: token,
                    body: QBody.request(
                        QBody.user("", toolResults: [QBody.toolResult(writeID, "File created successfully at: /p/a.txt")]), history: history,
                        tools: Self.tools
                    )
                )
            )
            #expect(second.toolEvents.first?["name"]?.stringValue == "Read")
            let readID = try #require(second.toolEvents.first?["toolUseId"]?.stringValue)

            // Step 2: the final text.
            let fullHistory =
                history + [
                    ("user", QBody.user("", toolResults: [QBody.toolResult(writeID, "File created successfully at: /p/a.txt")])),
                    ("assistant", QBody.assistant("Calling Read.", toolUses: [QBody.toolUse(readID, "Read", input: ["file_path": "/p/a.txt"])])),
                ]
            let third = Reply(
                try await Simulator.ask(
                    client, token: token,
                    body: QBody.request(QBody.user("", toolResults: [QBody.toolResult(readID, "1\thi")]), history: fullHistory, tools: Self.tools)
                )
            )
            #expect(third.text == "All done.")
            #expect(third.toolEvents.isEmpty)
            #expect(third.eventTypes.last == "messageMetadataEvent")

            #expect(state.planReplies == 3)
            #expect(state.rejectedRequests == 0)
        }
    }

    @Test("recall: says whether a text is in the history (not the current message)")
    func recall() async throws {
        try await Simulator.application(state: SimulatorState()).test(.router) { client in
            let token = try await Simulator.accessToken(client)
            let history: [(role: String, message: JSONValue)] = [
                ("user", QBody.user("Remember this.")), ("assistant", QBody.assistant("The code word is PINEAPPLE-42.")),
            ]
            let found = Reply(
                try await Simulator.ask(client, token: token, body: QBody.request(QBody.user("[[sim:recall:PINEAPPLE-42]]"), history: history))
            )
            #expect(found.text == "Recalled from the history: PINEAPPLE-42")
            let missing = Reply(try await Simulator.ask(client, token: token, body: QBody.request(QBody.user("[[sim:recall:PINEAPPLE-42]]"))))
            #expect(missing.text == "Not in the history: PINEAPPLE-42")
        }
    }

    @Test("GET /__sim/state counts rejections (with their violations), auth failures, scripted failures and requests by profile")
    func stateCounters() async throws {
        let state = SimulatorState()
        try await Simulator.application(state: state).test(.router) { client in
            let token = try await Simulator.accessToken(client)
            var body = QBody.simple("hello")
            body = body.setting("profileArn", to: "arn:aws:codewhisperer:us-east-1:1:profile/A")
            #expect(try await Simulator.ask(client, token: token, body: body).status == .ok)
            #expect(try await Simulator.ask(client, token: token, body: QBody.simple("[[sim:throttle]]")).status == .tooManyRequests)
            #expect(try await Simulator.ask(client, token: "nope", body: QBody.simple("hello")).status == .forbidden)
            let broken = QBody.request(QBody.user("hi"), history: [("assistant", QBody.assistant("first"))])
            #expect(try await Simulator.ask(client, token: token, body: broken).status == .badRequest)
            #expect(try await Simulator.ask(client, token: token, body: QBody.simple("hi"), modelID: "gpt-4").status == .badRequest)

            let snapshot = try await client.execute(uri: "/__sim/state", method: .get).json
            #expect(snapshot["totalRequests"]?.intValue == 5)
            #expect(snapshot["rejectedRequests"]?.intValue == 2)
            let rejections = snapshot["rejections"]?.arrayValue?.compactMap(\.stringValue) ?? []
            #expect(rejections.count == 2)
            #expect(rejections.first?.contains("history must start with a user message") == true)
            #expect(rejections.last?.contains("modelId") == true)
            #expect(snapshot["authFailures"]?.intValue == 1)
            #expect(snapshot["scriptedFailures"]?.intValue == 1)
            #expect(snapshot["planReplies"]?.intValue == 0)
            #expect(snapshot["requestsByProfile"] == ["": 2, "arn:aws:codewhisperer:us-east-1:1:profile/A": 1])
        }
    }
}

extension Simulator {
    /// `POST /` with `body` whose `modelId` is replaced by `modelID`.
    static func ask(_ client: some TestClientProtocol, token: String?, body: JSONValue, modelID: String) async throws -> TestResponse {
        let current = try #require(body["conversationState"]?["currentMessage"]?["userInputMessage"])
        let state = try #require(body["conversationState"])
        let replaced = body.setting(
            "conversationState",
            to: state.setting("currentMessage", to: ["userInputMessage": current.setting("modelId", to: .string(modelID))])
        )
        return try await Self.ask(client, token: token, body: replaced)
    }
}
