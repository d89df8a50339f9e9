import NIOCore
import ProxyModels

/// Turns a validated request and its directives into a ``ReplyPlan``.
///
/// Directives are read from the current message's content and from its tool results' text, so a test
/// can script the next turn of an agent loop through the tool output it feeds back. When the current
/// message has no directive of its own (besides `plan:`), the reply plays the current step of the most
/// recent `plan:` in the conversation (``planStep``), so that a whole agent loop can be scripted up front
/// even when the tool output carries no marker. Failure directives
/// (`throttle`, `expired`, ...) win over everything else; the first one found decides the status. A failure
/// directive with an argument (`[[sim:suspend:profile/B]]`) applies only to requests whose `profileArn` ends
/// with it.
/// Content directives are played in the order they appear; `exception`, `reset`, `corrupt` and `toolcut`
/// end the stream where they stand, without the closing metadata. With no content directive the reply
/// is the default one. ``QSimulator`` lists every directive.
struct ReplyBuilder {
    var request: AssistantRequest
    var options: SimulatorOptions

    /// The text events of `text:` and the short default reply are at most this many characters.
    static let shortEventSize = 5
    /// The text events of `long:`, `echo` and the tool-results reply are this many characters.
    static let longEventSize = 12
    /// Event sizes for the realistic reply, averaging about 11 characters like real deltas.
    static let realisticEventSizes = [9, 12, 14, 10, 13, 11, 8, 15, 12, 10]
    /// Tool-result texts are cut to this many characters in the default tool-results reply.
    static let toolResultPreviewLength = 200

    /// The payload of the `exception` directive's frame, as in samples/exception_stream.bin.
    static let exceptionPayload: JSONValue = [
        "message": "I am experiencing high traffic, please try again shortly.",
        "reason": "INSUFFICIENT_MODEL_CAPACITY",
    ]

    /// The `usage` directive's `metadataEvent` payload.
    static let usagePayload: JSONValue = [
        "tokenUsage": [
            "uncachedInputTokens": 11, "outputTokens": 7, "totalTokens": 18, "cacheReadInputTokens": 5,
            "cacheWriteInputTokens": 3,
        ]
    ]

    /// The first partial input fragment of the `toolcut` directive: cut inside a string, as when the
    /// service hits its output limit in the middle of a large Write (AMAZON_Q.md §9).
    static let truncatedToolInput = #"{"path": "a.txt", "content": "abc"#

    /// The directives that script this reply: the current message's own (content first, then each tool
    /// result's text) when it has any besides `plan:`, or else those of the current ``planStep``.
    var directives: [Directive] { self.script.directives }

    /// ``directives`` and, when they are a plan's, the index of the step.
    var script: (directives: [Directive], planStep: Int?) {
        let own = (Directive.scan(self.request.content) + self.request.toolResults.flatMap { Directive.scan($0.text) })
            .filter { $0.name != "plan" }
        if !own.isEmpty { return (own, nil) }
        if let step = self.planStep { return (step.directives, step.index) }
        return ([], nil)
    }

    /// The step of a `plan:` this reply plays, if any (``AgentPlan/step(history:current:)``).
    var planStep: (index: Int, directives: [Directive])? {
        let current = AssistantRequest.PriorMessage(
            role: .user, text: ([self.request.content] + self.request.toolResults.map(\.text)).joined(separator: "\n")
        )
        return AgentPlan.step(history: self.request.history, current: current)
    }

    func plan() throws -> ReplyPlan {
        let directives = self.directives
        for directive in directives {
            // `[[sim:throttle:profile/B]]` fails only requests whose profileArn ends with `profile/B`, so a
            // test can make one account of a pool fail and watch the proxy fail over to another.
            if let scope = directive.argument, !scope.isEmpty, !(self.request.profileARN ?? "").hasSuffix(scope) { continue }
            if let failure = Self.failure(named: directive.name) { return .failure(failure) }
        }

        var script = ReplyScript(frameDelay: self.options.frameDelay)
        script.append(try EventFrame.event("initial-response", ["conversationId": .string(self.request.conversationID)]))

        var state = BuildState()
        let toolNames = directives.filter { $0.name == "tool" }.map { Self.splitTool($0.argument).name }
        for directive in directives where !state.ended {
            try self.play(directive, toolNames: toolNames, into: &script, state: &state)
        }
        if !state.producedContent {
            try self.appendDefaultReply(to: &script, state: &state)
        }
        if !state.ended {
            if state.usage { script.append(try EventFrame.event("metadataEvent", Self.usagePayload)) }
            script.append(
                try EventFrame.event(
                    "messageMetadataEvent",
                    ["conversationId": .string(self.request.conversationID), "utteranceId": .string(RandomIdentifier.uuid())]
                )
            )
        }
        return .stream(script)
    }

    // MARK: - Directives

    private struct BuildState {
        var producedContent = false
        var emittedText = false
        var usage = false
        /// Set by a directive that cuts the stream short.
        var ended = false
    }

    private static func failure(named name: String) -> QServiceError? {
        switch name {
        case "throttle": .throttled
        case "monthly": .monthlyLimit
        case "suspend": .suspended
        case "expired": .invalidBearerToken()
        case "overloaded": .overloaded
        case "unavailable": .unavailable
        case "toolong": .inputTooLong()
        default: nil
        }
    }

    private func play(_ directive: Directive, toolNames: [String], into script: inout ReplyScript, state: inout BuildState) throws {
        func texts(_ pieces: [String]) throws {
            for piece in pieces { script.append(try EventFrame.text(piece)) }
            if !pieces.isEmpty { state.emittedText = true }
            state.producedContent = true
        }
        let argument = directive.argument ?? ""
        switch directive.name {
        case "delay":
            if let milliseconds = Int(argument), milliseconds >= 0 { script.frameDelay = .milliseconds(milliseconds) }
        case "usage":
            state.usage = true
        case "text":
            try texts(CannedText.pieces(argument, size: Self.shortEventSize))
        case "long":
            try texts(CannedText.pieces(CannedText.lorem(count: Int(argument) ?? 0), size: Self.longEventSize))
        case "echo":
            try texts(CannedText.pieces(Self.userText(in: self.request.content), size: Self.longEventSize))
        case "say":
            // `say:{"text": "..."}`: any text, `]]` and directives included, as a JSON string.
            let text = (try? JSONParser.parse(Array(argument.utf8)))?["text"]?.stringValue ?? ""
            try texts(CannedText.pieces(text, size: Self.longEventSize))
        case "recall":
            let found = !argument.isEmpty && self.request.history.contains { $0.text.contains(argument) }
            let answer = found ? "Recalled from the history: \(argument)" : "Not in the history: \(argument)"
            try texts(CannedText.pieces(answer, size: Self.longEventSize))
        case "thinking":
            try texts(CannedText.thinkingEvents)
        case "tool":
            if !state.emittedText {
                try texts(["Calling \(toolNames.joined(separator: ", "))."])
            }
            let tool = Self.splitTool(directive.argument)
            try Self.appendToolCall(name: tool.name, input: tool.input, to: &script)
            state.producedContent = true
        case "hold":
            try texts(["Held: "])
            script.steps.append(.hold)
            try texts(["released."])
        case "exception":
            try texts(["Let me think about", " that"])
            script.append(try EventFrame.exception("ThrottlingException", Self.exceptionPayload))
            state.ended = true
        case "reset":
            try texts(["Partial ", "answer ", "before ", "the reset"])
            script.steps.append(.reset)
            state.ended = true
        case "corrupt":
            try texts(["This frame is fine."])
            script.append(EventFrame.corrupted(try EventFrame.text(" This one is corrupt.")))
            state.ended = true
        case "toolcut":
            let name = argument.isEmpty ? "fs_write" : argument
            try texts(["Writing the file."])
            let id = RandomIdentifier.toolUseID()
            script.append(try EventFrame.event("toolUseEvent", ["toolUseId": .string(id), "name": .string(name)]))
            script.append(
                try EventFrame.event(
                    "toolUseEvent",
                    ["toolUseId": .string(id), "name": .string(name), "input": .string(Self.truncatedToolInput)]
                )
            )
            state.ended = true
        default:
            break  // Unknown names are ignored, so that prose mentioning "[[sim:...]]" stays harmless.
        }
    }

    /// `NAME:{json}` → the name and the raw JSON text (empty when there is none).
    static func splitTool(_ argument: String?) -> (name: String, input: String) {
        let argument = argument ?? ""
        guard let colon = argument.firstIndex(of: ":") else { return (argument, "") }
        return (String(argument[..<colon]), String(argument[argument.index(after: colon)...]))
    }

    /// A tool call as the service streams it (AMAZON_Q.md §5.3): an opening event, the input as three
    /// raw fragments of its JSON text, then `stop`. An empty input sends no fragments, like
    /// `get_time` in samples/tool_use_stream.bin.
    static func appendToolCall(name: String, input: String, to script: inout ReplyScript) throws {
        let id = RandomIdentifier.toolUseID()
        script.append(try EventFrame.event("toolUseEvent", ["toolUseId": .string(id), "name": .string(name)]))
        for fragment in Self.thirds(input) {
            script.append(
                try EventFrame.event("toolUseEvent", ["toolUseId": .string(id), "name": .string(name), "input": .string(fragment)])
            )
        }
        script.append(try EventFrame.event("toolUseEvent", ["toolUseId": .string(id), "name": .string(name), "stop": true]))
    }

    /// `text` cut into three nearly equal parts by character, leaving out empty ones.
    static func thirds(_ text: String) -> [String] {
        let characters = Array(text)
        let first = characters.count / 3
        let second = characters.count * 2 / 3
        return [characters[..<first], characters[first..<second], characters[second...]]
            .filter { !$0.isEmpty }
            .map { String($0) }
    }

    /// The user's own words inside the CLI-style envelope, or the whole content if there is none.
    static func userText(in content: String) -> String {
        let begin = "--- USER MESSAGE BEGIN ---\n"
        let end = "\n--- USER MESSAGE END ---"
        guard let start = content.firstRange(of: begin),
            let stop = content[start.upperBound...].firstRange(of: end)
        else { return content }
        return String(content[start.upperBound..<stop.lowerBound])
    }

    // MARK: - Default reply

    private func appendDefaultReply(to script: inout ReplyScript, state: inout BuildState) throws {
        let pieces: [String]
        if let schema = StructuredReply.schema(in: self.request.content) {
            pieces = CannedText.pieces(StructuredReply.instance(of: schema).jsonString, size: Self.longEventSize)
        } else if !self.request.toolResults.isEmpty {
            let previews = self.request.toolResults.map { String($0.text.prefix(Self.toolResultPreviewLength)) }
            pieces = CannedText.pieces("Tool results received: " + previews.joined(separator: " | "), size: Self.longEventSize)
        } else {
            switch self.options.defaultReply {
            case .short: pieces = CannedText.pieces(CannedText.shortReply, size: Self.shortEventSize)
            case .realistic: pieces = CannedText.pieces(CannedText.realisticReply, sizes: Self.realisticEventSizes)
            }
        }
        for piece in pieces { script.append(try EventFrame.text(piece)) }
    }
}
