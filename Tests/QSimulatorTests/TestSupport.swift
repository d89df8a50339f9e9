import EventStream
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import ProxyModels
import Testing

@testable import QSimulator

/// Builds `GenerateAssistantResponse` bodies in the shape q2api sends (AMAZON_Q.md §2.10, step 11).
enum QBody {
    static let conversationID = "11111111-1111-4111-8111-111111111111"

    static func user(_ content: String, toolResults: [JSONValue]? = nil, images: [JSONValue]? = nil) -> JSONValue {
        var context: JSONValue = ["envState": ["operatingSystem": "linux", "currentWorkingDirectory": "/"]]
        if let toolResults { context = context.setting("toolResults", to: .array(toolResults)) }
        var message: JSONValue = ["content": .string(content), "userInputMessageContext": context, "origin": "KIRO_CLI"]
        if let images { message = message.setting("images", to: .array(images)) }
        return message
    }

    static func assistant(_ content: String, toolUses: [JSONValue]? = nil) -> JSONValue {
        var message: JSONValue = ["messageId": "22222222-2222-4222-8222-222222222222", "content": .string(content)]
        if let toolUses { message = message.setting("toolUses", to: .array(toolUses)) }
        return message
    }

    static func toolUse(_ id: String, _ name: String, input: JSONValue = ["command": "ls"]) -> JSONValue {
        ["toolUseId": .string(id), "name": .string(name), "input": input]
    }

    static func toolResult(_ id: String, _ text: String) -> JSONValue {
        ["toolUseId": .string(id), "content": [["text": .string(text)]], "status": "success"]
    }

    static func tool(_ name: String, description: String = "Run a shell command.") -> JSONValue {
        [
            "toolSpecification": [
                "name": .string(name), "description": .string(description),
                "inputSchema": ["json": ["type": "object", "properties": ["command": ["type": "string"]]]],
            ]
        ]
    }

    static func image(_ format: String = "png") -> JSONValue {
        ["format": .string(format), "source": ["bytes": "iVBORw0KGgo="]]
    }

    /// A whole body; `current` is a `userInputMessage`, history entries are wrapped here.
    static func request(
        _ current: JSONValue, history: [(role: String, message: JSONValue)] = [], tools: [JSONValue]? = nil,
        modelID: String? = "claude-sonnet-4.5"
    ) -> JSONValue {
        var current = current
        if let tools {
            let context = current["userInputMessageContext"] ?? [:]
            current = current.setting("userInputMessageContext", to: context.setting("tools", to: .array(tools)))
        }
        if let modelID { current = current.setting("modelId", to: .string(modelID)) }
        var state: JSONValue = ["conversationId": .string(Self.conversationID)]
        if !history.isEmpty {
            state = state.setting(
                "history",
                to: .array(history.map { .object([JSONMember($0.role == "user" ? "userInputMessage" : "assistantResponseMessage", $0.message)]) })
            )
        }
        state = state.setting("currentMessage", to: ["userInputMessage": current])
        state = state.setting("chatTriggerType", to: "MANUAL")
        return ["conversationState": state]
    }

    /// A one-message body with `content`.
    static func simple(_ content: String) -> JSONValue {
        Self.request(Self.user(content))
    }

    /// A history with one answered tool call, and a current message carrying the result: the shape of
    /// every agent-loop turn.
    static func toolTurn(resultText: String = "a.txt\nb.txt") -> JSONValue {
        Self.request(
            Self.user("", toolResults: [Self.toolResult("tooluse_abc", resultText)]),
            history: [
                ("user", Self.user("List the files.")),
                ("assistant", Self.assistant("Running ls.", toolUses: [Self.toolUse("tooluse_abc", "Bash")])),
            ],
            tools: [Self.tool("Bash")]
        )
    }
}

extension HTTPField.Name {
    static let violation = HTTPField.Name("x-q2sim-violation")!
    static let amzTarget = HTTPField.Name("x-amz-target")!
}

/// Helpers over a simulator under test.
struct Simulator {
    static let logger = Logger(label: "QSimulatorTests")

    static func application(_ options: SimulatorOptions = SimulatorOptions(), state: SimulatorState) -> some ApplicationProtocol {
        QSimulator.application(options: options, state: state, host: "127.0.0.1", port: 0, logger: Self.logger)
    }

    static func tokenBody(refreshToken: String = "rt-1", clientID: String = "client", clientSecret: String = "secret") -> JSONValue {
        [
            "grantType": "refresh_token", "clientId": .string(clientID), "clientSecret": .string(clientSecret),
            "refreshToken": .string(refreshToken),
        ]
    }

    /// `POST /token` with `body`; returns the status and the parsed reply.
    static func token(_ client: some TestClientProtocol, _ body: JSONValue) async throws -> (HTTPResponse.Status, JSONValue) {
        let response = try await client.execute(
            uri: "/token", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(bytes: body.jsonBytes)
        )
        return (response.status, try JSONParser.parse(Array(response.body.readableBytesView)))
    }

    /// A fresh access token from a refresh.
    static func accessToken(_ client: some TestClientProtocol, refreshToken: String = "rt-1") async throws -> String {
        let (status, reply) = try await Self.token(client, Self.tokenBody(refreshToken: refreshToken))
        try #require(status == .ok)
        return try #require(reply["accessToken"]?.stringValue)
    }

    static func qHeaders(token: String?, target: String = "AmazonCodeWhispererStreamingService.GenerateAssistantResponse") -> HTTPFields {
        var headers: HTTPFields = [.contentType: "application/x-amz-json-1.0", .amzTarget: target]
        if let token { headers[.authorization] = "Bearer \(token)" }
        return headers
    }

    /// `POST /` with `body` (a raw string is sent as is).
    static func ask(_ client: some TestClientProtocol, token: String?, body: JSONValue) async throws -> TestResponse {
        try await Self.ask(client, token: token, raw: body.jsonString)
    }

    static func ask(_ client: some TestClientProtocol, token: String?, raw: String, target: String? = nil) async throws -> TestResponse {
        var headers = Self.qHeaders(token: token)
        if let target { headers[.amzTarget] = target }
        return try await client.execute(uri: "/", method: .post, headers: headers, body: ByteBuffer(string: raw))
    }

    /// Refreshes, then asks with a one-message body holding `content`.
    static func ask(_ client: some TestClientProtocol, _ content: String) async throws -> TestResponse {
        let token = try await Self.accessToken(client)
        return try await Self.ask(client, token: token, body: QBody.simple(content))
    }
}

/// A decoded reply stream.
struct Reply {
    var frames: [EventStreamMessage]
    /// The decoding error after the last good frame, if any.
    var error: EventStreamError?

    init(_ response: TestResponse) {
        var buffer = response.body
        var decoder = EventStreamDecoder()
        var frames: [EventStreamMessage] = []
        do {
            while let frame = try decoder.decodeLast(buffer: &buffer, seenEOF: true) {
                frames.append(frame)
            }
            self.error = nil
        } catch let error as EventStreamError {
            self.error = error
        } catch {
            self.error = nil
            Issue.record("unexpected error \(error)")
        }
        self.frames = frames
    }

    func payload(_ index: Int) -> JSONValue {
        let payload = self.frames[index].payload
        return (try? JSONParser.parse(Array(payload.readableBytesView))) ?? .null
    }

    var payloads: [JSONValue] { self.frames.indices.map { self.payload($0) } }

    var eventTypes: [String] { self.frames.map { $0.eventType ?? $0.exceptionType ?? "?" } }

    /// The `content` of each text event.
    var textPieces: [String] {
        self.frames.indices.filter { self.frames[$0].eventType == "assistantResponseEvent" }.map {
            self.payload($0)["content"]?.stringValue ?? ""
        }
    }

    var text: String { self.textPieces.joined() }

    /// The payloads of `toolUseEvent` frames.
    var toolEvents: [JSONValue] {
        self.frames.indices.filter { self.frames[$0].eventType == "toolUseEvent" }.map { self.payload($0) }
    }
}

extension TestResponse {
    var json: JSONValue { (try? JSONParser.parse(Array(self.body.readableBytesView))) ?? .null }
}

/// Polls `condition` every 10 ms for up to 5 seconds.
func eventually(_ condition: () -> Bool) async throws -> Bool {
    for _ in 0..<500 {
        if condition() { return true }
        try await Task.sleep(for: .milliseconds(10))
    }
    return condition()
}
