import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import ProxyModels
import Testing

@testable import QSimulator

/// One broken request and the words its violation must contain.
struct ValidationCase: Sendable, CustomTestStringConvertible {
    var name: String
    var body: String
    var violation: String

    init(_ name: String, _ body: JSONValue, _ violation: String) {
        self.name = name
        self.body = body.jsonString
        self.violation = violation
    }

    init(_ name: String, raw: String, _ violation: String) {
        self.name = name
        self.body = raw
        self.violation = violation
    }

    var testDescription: String { self.name }

    static let all: [ValidationCase] = {
        let valid = QBody.simple("hello")
        let state = valid["conversationState"]!
        func withState(_ key: String, _ value: JSONValue?) -> JSONValue {
            ["conversationState": state.setting(key, to: value)]
        }
        let bashUse = QBody.toolUse("tooluse_1", "Bash")
        return [
            ValidationCase("not JSON", raw: "{\"conversationState\": ", "not valid JSON"),
            ValidationCase("not an object", raw: "[1]", "not a JSON object"),
            ValidationCase("no conversationState", ["other": 1], "conversationState is missing"),
            ValidationCase("empty conversationId", withState("conversationId", ""), "conversationId"),
            ValidationCase("missing conversationId", withState("conversationId", nil), "conversationId"),
            ValidationCase("chatTriggerType not MANUAL", withState("chatTriggerType", "INLINE_CHAT"), "chatTriggerType"),
            ValidationCase("no currentMessage", withState("currentMessage", nil), "currentMessage"),
            ValidationCase("content not a string", QBody.request(QBody.user("x").setting("content", to: 5)), "content is missing or not a string"),
            ValidationCase(
                "null inside a tool schema",
                QBody.request(
                    QBody.user("hi"),
                    tools: [
                        QBody.tool("Bash").setting(
                            "toolSpecification",
                            to: QBody.tool("Bash")["toolSpecification"]!.setting("inputSchema", to: ["json": ["type": "object", "required": .null]]))
                    ]
                ),
                "null value at conversationState.currentMessage.userInputMessage.userInputMessageContext.tools[0]"
            ),
            ValidationCase("history not an array", withState("history", ["a": 1]), "history is not an array"),
            ValidationCase(
                "history entry with two keys",
                withState(
                    "history",
                    [
                        ["userInputMessage": QBody.user("a"), "assistantResponseMessage": QBody.assistant("b")],
                        ["assistantResponseMessage": QBody.assistant("b")],
                    ]),
                "exactly one key"
            ),
            ValidationCase(
                "history entry with an unknown key",
                withState("history", [["systemMessage": ["content": "x"]]]),
                "unknown key"
            ),
            ValidationCase(
                "history starting with an assistant message",
                QBody.request(QBody.user("hi"), history: [("assistant", QBody.assistant("a"))]),
                "start with a user message"
            ),
            ValidationCase(
                "two user messages in a row",
                QBody.request(
                    QBody.user("hi"), history: [("user", QBody.user("a")), ("user", QBody.user("b")), ("assistant", QBody.assistant("c"))]),
                "alternate"
            ),
            ValidationCase(
                "two assistant messages in a row",
                QBody.request(
                    QBody.user("hi"), history: [("user", QBody.user("a")), ("assistant", QBody.assistant("b")), ("assistant", QBody.assistant("c"))]),
                "alternate"
            ),
            ValidationCase(
                "history ending with a user message",
                QBody.request(QBody.user("hi"), history: [("user", QBody.user("a"))]),
                "end with an assistant message"
            ),
            ValidationCase(
                "assistant without content",
                QBody.request(QBody.user("hi"), history: [("user", QBody.user("a")), ("assistant", ["messageId": "m"])]),
                "assistantResponseMessage.content"
            ),
            ValidationCase(
                "first history message with tool results",
                QBody.request(
                    QBody.user("hi"),
                    history: [("user", QBody.user("", toolResults: [QBody.toolResult("t", "x")])), ("assistant", QBody.assistant("b"))]),
                "first user message"
            ),
            ValidationCase(
                "tool results after an assistant message without tool uses",
                QBody.request(
                    QBody.user("", toolResults: [QBody.toolResult("tooluse_1", "x")]),
                    history: [("user", QBody.user("a")), ("assistant", QBody.assistant("b"))]),
                "has no toolUses"
            ),
            ValidationCase(
                "tool results on the only message",
                QBody.request(QBody.user("", toolResults: [QBody.toolResult("tooluse_1", "x")])),
                "first user message"
            ),
            ValidationCase(
                "an unknown tool result id",
                QBody.request(
                    QBody.user("", toolResults: [QBody.toolResult("tooluse_1", "x"), QBody.toolResult("tooluse_2", "y")]),
                    history: [("user", QBody.user("a")), ("assistant", QBody.assistant("b", toolUses: [bashUse]))], tools: [QBody.tool("Bash")]
                ),
                "do not match"
            ),
            ValidationCase(
                "an unanswered tool use",
                QBody.request(
                    QBody.user("next"), history: [("user", QBody.user("a")), ("assistant", QBody.assistant("b", toolUses: [bashUse]))],
                    tools: [QBody.tool("Bash")]),
                "do not match"
            ),
            ValidationCase(
                "an unanswered tool use in history",
                QBody.request(
                    QBody.user("next"),
                    history: [
                        ("user", QBody.user("a")), ("assistant", QBody.assistant("b", toolUses: [bashUse])), ("user", QBody.user("c")),
                        ("assistant", QBody.assistant("d")),
                    ],
                    tools: [QBody.tool("Bash")]
                ),
                "history[2].userInputMessage toolResults ids [] do not match"
            ),
            ValidationCase(
                "tool use input that is a string",
                QBody.request(
                    QBody.user("", toolResults: [QBody.toolResult("tooluse_1", "x")]),
                    history: [
                        ("user", QBody.user("a")),
                        ("assistant", QBody.assistant("b", toolUses: [QBody.toolUse("tooluse_1", "Bash", input: "{\"command\":\"ls\"}")])),
                    ],
                    tools: [QBody.tool("Bash")]
                ),
                "input must be a JSON object"
            ),
            ValidationCase("tool name with a hyphen", QBody.request(QBody.user("hi"), tools: [QBody.tool("mcp-read")]), "must match"),
            ValidationCase("tool name starting with a digit", QBody.request(QBody.user("hi"), tools: [QBody.tool("1tool")]), "must match"),
            ValidationCase(
                "tool name over 64 characters", QBody.request(QBody.user("hi"), tools: [QBody.tool(String(repeating: "a", count: 65))]), "at most 64"),
            ValidationCase("empty tool description", QBody.request(QBody.user("hi"), tools: [QBody.tool("Bash", description: "")]), "description"),
            ValidationCase(
                "tool schema that is not an object",
                QBody.request(QBody.user("hi"), tools: [["toolSpecification": ["name": "Bash", "description": "d", "inputSchema": ["json": "{}"]]]]),
                "inputSchema.json"
            ),
            ValidationCase(
                "history tool use not declared in tools",
                QBody.request(
                    QBody.user("", toolResults: [QBody.toolResult("tooluse_1", "x")]),
                    history: [("user", QBody.user("a")), ("assistant", QBody.assistant("b", toolUses: [bashUse]))],
                    tools: [QBody.tool("Read")]
                ),
                "not declared"
            ),
            ValidationCase(
                "history tool use with no tools at all",
                QBody.request(
                    QBody.user("", toolResults: [QBody.toolResult("tooluse_1", "x")]),
                    history: [("user", QBody.user("a")), ("assistant", QBody.assistant("b", toolUses: [bashUse]))]
                ),
                "not declared"
            ),
            ValidationCase("eleven images", QBody.request(QBody.user("look", images: Array(repeating: QBody.image(), count: 11))), "11 images"),
            ValidationCase(
                "eleven images across messages",
                QBody.request(
                    QBody.user("look", images: Array(repeating: QBody.image(), count: 6)),
                    history: [("user", QBody.user("a", images: Array(repeating: QBody.image(), count: 5))), ("assistant", QBody.assistant("b"))]
                ),
                "11 images"
            ),
            ValidationCase("image format jpg", QBody.request(QBody.user("look", images: [QBody.image("jpg")])), "format 'jpg'"),
            ValidationCase("empty content without tool results", QBody.simple(""), "content is empty"),
            ValidationCase(
                "empty history content without tool results",
                QBody.request(QBody.user("hi"), history: [("user", QBody.user("")), ("assistant", QBody.assistant("b"))]),
                "history[0].userInputMessage.content is empty"
            ),
            ValidationCase(
                "tool result content not a list",
                QBody.request(
                    QBody.user("", toolResults: [["toolUseId": "tooluse_1", "content": "x"]]),
                    history: [("user", QBody.user("a")), ("assistant", QBody.assistant("b", toolUses: [bashUse]))], tools: [QBody.tool("Bash")]
                ),
                "content is missing or not an array"
            ),
        ]
    }()
}

@Suite("Request validation")
struct ValidationTests {
    @Test("each broken rule gives 400 ValidationException with a violation header", arguments: ValidationCase.all)
    func violation(_ testCase: ValidationCase) async throws {
        let state = SimulatorState()
        try await Simulator.application(state: state).test(.router) { client in
            let token = try await Simulator.accessToken(client)
            let response = try await Simulator.ask(client, token: token, raw: testCase.body)
            #expect(response.status == .badRequest)
            #expect(
                String(buffer: response.body)
                    == #"{"__type":"com.amazon.aws.codewhisperer#ValidationException","message":"Improperly formed request.","reason":null}"#
            )
            let violation = try #require(response.headers[.violation])
            #expect(violation.contains(testCase.violation), "violation was: \(violation)")
            #expect(state.lastRequestBody == nil)
            #expect(state.openStreams == 0)
        }
    }

    @Test("the worked example of AMAZON_Q.md §2.10 and an agent-loop turn are accepted")
    func validRequests() async throws {
        let example = """
            {"conversationState":{"conversationId":"11111111-1111-4111-8111-111111111111","history":[
            {"userInputMessage":{"content":"List the files here.","userInputMessageContext":{"envState":{"operatingSystem":"macos","currentWorkingDirectory":"/"}},"origin":"KIRO_CLI"}},
            {"assistantResponseMessage":{"messageId":"22222222-2222-4222-8222-222222222222","content":"Running ls.","toolUses":[{"toolUseId":"tooluse_abc123","name":"Bash","input":{"command":"ls"}}]}},
            {"userInputMessage":{"content":"","userInputMessageContext":{"envState":{"operatingSystem":"macos","currentWorkingDirectory":"/"},"toolResults":[{"toolUseId":"tooluse_abc123","content":[{"text":"a.txt\\nb.txt"}],"status":"success"}]},"origin":"KIRO_CLI"}},
            {"assistantResponseMessage":{"messageId":"33333333-3333-4333-8333-333333333333","content":"There are two files: a.txt and b.txt."}}],
            "currentMessage":{"userInputMessage":{"content":"What is in this picture?","userInputMessageContext":{"envState":{"operatingSystem":"macos","currentWorkingDirectory":"/"},
            "tools":[{"toolSpecification":{"name":"Bash","description":"Run a shell command.","inputSchema":{"json":{"type":"object","properties":{"command":{"type":"string"}},"required":["command"]}}}}]},
            "origin":"KIRO_CLI","modelId":"claude-sonnet-4.5","images":[{"format":"png","source":{"bytes":"iVBORw0KGgo="}}]}},"chatTriggerType":"MANUAL"}}
            """
        let state = SimulatorState()
        try await Simulator.application(state: state).test(.router) { client in
            let token = try await Simulator.accessToken(client)
            let response = try await Simulator.ask(client, token: token, raw: example)
            #expect(response.status == .ok, "violation: \(response.headers[.violation] ?? "-")")
            #expect(state.lastRequestBody == (try JSONParser.parse(example)))

            let turn = try await Simulator.ask(client, token: token, body: QBody.toolTurn())
            #expect(turn.status == .ok, "violation: \(turn.headers[.violation] ?? "-")")
            #expect(state.lastRequestBody == QBody.toolTurn())
        }
    }

    @Test("an unknown model gives INVALID_MODEL_ID, and the body still counts as well-formed")
    func invalidModel() async throws {
        let state = SimulatorState()
        try await Simulator.application(state: state).test(.router) { client in
            let token = try await Simulator.accessToken(client)
            let body = QBody.request(QBody.user("hi"), modelID: "auto")
            let response = try await Simulator.ask(client, token: token, body: body)
            #expect(response.status == .badRequest)
            #expect(
                String(buffer: response.body)
                    == #"{"__type":"com.amazon.aws.codewhisperer#ValidationException","message":"Invalid model. Please select a different model to continue.","reason":"INVALID_MODEL_ID"}"#
            )
            #expect(response.headers[.violation]?.contains("modelId") == true)
            #expect(state.lastRequestBody == body)

            let noModel = try await Simulator.ask(client, token: token, body: QBody.request(QBody.user("hi"), modelID: nil))
            #expect(noModel.status == .ok)
        }
    }

    @Test("models come from the options")
    func customModels() async throws {
        try await Simulator.application(SimulatorOptions(models: ["my-model"]), state: SimulatorState()).test(.router) { client in
            let token = try await Simulator.accessToken(client)
            #expect(try await Simulator.ask(client, token: token, body: QBody.request(QBody.user("hi"), modelID: "my-model")).status == .ok)
            #expect(try await Simulator.ask(client, token: token, body: QBody.request(QBody.user("hi"))).status == .badRequest)
        }
    }

    @Test("content over 600,000 characters is 'Input is too long.'")
    func contentTooLong() async throws {
        try await Simulator.application(state: SimulatorState()).test(.router) { client in
            let token = try await Simulator.accessToken(client)
            let atLimit = try await Simulator.ask(client, token: token, body: QBody.simple(String(repeating: "a", count: 600_000)))
            #expect(atLimit.status == .ok)
            let response = try await Simulator.ask(client, token: token, body: QBody.simple(String(repeating: "a", count: 600_001)))
            #expect(response.status == .badRequest)
            #expect(
                String(buffer: response.body)
                    == #"{"__type":"com.amazon.aws.codewhisperer#ValidationException","message":"Input is too long.","reason":"CONTENT_LENGTH_EXCEEDS_THRESHOLD"}"#
            )
            #expect(response.headers[.violation]?.contains("600001") == true)
        }
    }

    @Test("a wrong or missing x-amz-target is UnknownOperationException, checked before the token")
    func unknownOperation() async throws {
        let state = SimulatorState()
        try await Simulator.application(state: state).test(.router) { client in
            let response = try await Simulator.ask(
                client, token: nil, raw: QBody.simple("hi").jsonString, target: "AmazonCodeWhispererStreamingService.SendMessage"
            )
            #expect(response.status == .badRequest)
            #expect(response.json["__type"] == "UnknownOperationException")
            #expect(response.json["message"]?.stringValue?.isEmpty == false)
            #expect(response.json["reason"] == nil)
            #expect(response.headers[.violation] != nil)

            let missing = try await client.execute(uri: "/", method: .post, body: ByteBuffer(string: "{}"))
            #expect(missing.status == .badRequest)
            #expect(missing.json["__type"] == "UnknownOperationException")
            #expect(state.totalRequests == 2)
        }
    }

    @Test("the token is checked before the body")
    func tokenBeforeBody() async throws {
        try await Simulator.application(state: SimulatorState()).test(.router) { client in
            let response = try await Simulator.ask(client, token: "nope", raw: "not json")
            #expect(response.status == .forbidden)
        }
    }

    @Test("tool names follow the CLI's rule")
    func toolNames() {
        #expect(RequestValidator.isValidToolName("get_weather"))
        #expect(RequestValidator.isValidToolName("A1_b2"))
        #expect(RequestValidator.isValidToolName(String(repeating: "a", count: 64)))
        #expect(!RequestValidator.isValidToolName(String(repeating: "a", count: 65)))
        #expect(!RequestValidator.isValidToolName("_private"))
        #expect(!RequestValidator.isValidToolName("mcp.read"))
        #expect(!RequestValidator.isValidToolName(""))
        #expect(!RequestValidator.isValidToolName("é"))
    }
}
