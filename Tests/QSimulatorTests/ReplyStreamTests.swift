import EventStream
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import ProxyModels
import Synchronization
import Testing

@testable import QSimulator

@Suite("Reply streams")
struct ReplyStreamTests {
    @Test("a plain message gets initial-response, the short default reply in small events, then metadata")
    func defaultReply() async throws {
        let state = SimulatorState()
        try await Simulator.application(state: state).test(.router) { client in
            let response = try await Simulator.ask(client, "Hello there")
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "application/vnd.amazon.eventstream")
            let reply = Reply(response)
            #expect(reply.error == nil)
            #expect(reply.eventTypes.first == "initial-response")
            #expect(reply.payload(0) == ["conversationId": .string(QBody.conversationID)])
            #expect(reply.eventTypes.last == "messageMetadataEvent")
            #expect(reply.payloads.last?["conversationId"]?.stringValue == QBody.conversationID)
            #expect(reply.payloads.last?["utteranceId"]?.stringValue?.count == 36)
            #expect(reply.text == "Hello! I am the q2api simulator.")
            #expect(reply.textPieces.allSatisfy { $0.count <= 5 })
            #expect(reply.textPieces.count >= 6)
            for frame in reply.frames {
                #expect(frame.headers.map(\.name) == [":event-type", ":content-type", ":message-type"])
                #expect(frame.stringHeader(":content-type") == "application/json")
                #expect(frame.messageType == "event")
            }
            #expect(state.openStreams == 0)
            #expect(state.totalRequests == 1)
            #expect(state.lastRequestBody == QBody.simple("Hello there"))
        }
    }

    @Test("the realistic default reply is about 1,250 characters in about 110 events")
    func realisticReply() async throws {
        try await Simulator.application(SimulatorOptions(defaultReply: .realistic), state: SimulatorState()).test(.router) { client in
            let reply = Reply(try await Simulator.ask(client, "Tell me about proxies"))
            #expect((1_150...1_350).contains(reply.text.count))
            #expect((100...120).contains(reply.textPieces.count))
            #expect(reply.text == CannedText.realisticReply)
        }
    }

    @Test("text: replies with exactly the text, in events of at most 5 characters")
    func textDirective() async throws {
        try await Simulator.application(state: SimulatorState()).test(.router) { client in
            let reply = Reply(try await Simulator.ask(client, "Say [[sim:text:Bonjour, le monde: ça va? 🙂]] please"))
            #expect(reply.text == "Bonjour, le monde: ça va? 🙂")
            #expect(reply.textPieces.allSatisfy { $0.count <= 5 })
            #expect(reply.eventTypes.last == "messageMetadataEvent")
        }
    }

    @Test("tool: streams 'Calling NAME.', then start, three raw fragments and stop")
    func toolDirective() async throws {
        let json = #"{"location": "Paris", "unit": "celsius"}"#
        try await Simulator.application(state: SimulatorState()).test(.router) { client in
            let reply = Reply(try await Simulator.ask(client, "Weather? [[sim:tool:get_weather:\(json)]]"))
            #expect(reply.text == "Calling get_weather.")
            #expect(
                reply.eventTypes == ["initial-response", "assistantResponseEvent"] + Array(repeating: "toolUseEvent", count: 5) + [
                    "messageMetadataEvent"
                ])
            let events = reply.toolEvents
            let id = try #require(events.first?["toolUseId"]?.stringValue)
            #expect(id.hasPrefix("tooluse_") && id.count == 30)
            #expect(events.allSatisfy { $0["toolUseId"]?.stringValue == id && $0["name"] == "get_weather" })
            #expect(events[0]["input"] == nil && events[0]["stop"] == nil)
            let fragments = events[1...3].compactMap { $0["input"]?.stringValue }
            #expect(fragments.count == 3)
            #expect(fragments.joined() == json)
            #expect(events[4]["stop"] == true)
            #expect(events[4]["input"] == nil)
        }
    }

    @Test("several tool: directives stream several calls in order; an empty input sends no fragments")
    func severalTools() async throws {
        try await Simulator.application(state: SimulatorState()).test(.router) { client in
            let reply = Reply(try await Simulator.ask(client, #"[[sim:tool:get_weather:{"city":"Paris"}]] [[sim:tool:get_time]]"#))
            #expect(reply.text == "Calling get_weather, get_time.")
            let events = reply.toolEvents
            #expect(events.map { $0["name"]?.stringValue ?? "" } == Array(repeating: "get_weather", count: 5) + ["get_time", "get_time"])
            #expect(events[0]["toolUseId"] != events[5]["toolUseId"])
            #expect(events[6]["stop"] == true)
        }
    }

    @Test("a text: directive before a tool: replaces the 'Calling' text; nested JSON survives")
    func textThenTool() async throws {
        try await Simulator.application(state: SimulatorState()).test(.router) { client in
            let reply = Reply(try await Simulator.ask(client, #"[[sim:text:Let me look.]][[sim:tool:Bash:{"args":[["a"]],"x":"]]"}]]"#))
            #expect(reply.text == "Let me look.")
            let fragments = reply.toolEvents.compactMap { $0["input"]?.stringValue }
            #expect(fragments.joined() == #"{"args":[["a"]],"x":"]]"}"#)
        }
    }

    @Test("long:N sends N characters of lorem ipsum in events of about 12 characters; /__sim/state counts the frames and bytes")
    func longDirective() async throws {
        let state = SimulatorState()
        try await Simulator.application(state: state).test(.router) { client in
            let response = try await Simulator.ask(client, "[[sim:long:1000]]")
            let reply = Reply(response)
            #expect(reply.text.count == 1000)
            #expect(reply.text.hasPrefix("Lorem ipsum dolor sit amet"))
            #expect(reply.textPieces.allSatisfy { $0.count <= 12 })
            #expect(reply.textPieces.count == 84)
            // initial-response, the 84 text events and messageMetadataEvent.
            #expect(try await eventually { state.framesSent == 86 })
            #expect(state.replyBytesSent == response.body.readableBytes)
            let snapshot = try await client.execute(uri: "/__sim/state", method: .get).json
            #expect(snapshot["framesSent"]?.intValue == 86)
            #expect(snapshot["replyBytesSent"]?.intValue == response.body.readableBytes)
        }
    }

    @Test("echo replies with the user's text inside the envelope, or the whole content")
    func echoDirective() async throws {
        try await Simulator.application(state: SimulatorState()).test(.router) { client in
            let wrapped =
                "--- CONTEXT ENTRY BEGIN ---\nCurrent time: now\n--- CONTEXT ENTRY END ---\n\n--- USER MESSAGE BEGIN ---\nRepeat after me [[sim:echo]]\n--- USER MESSAGE END ---"
            let inside = Reply(try await Simulator.ask(client, wrapped))
            #expect(inside.text == "Repeat after me [[sim:echo]]")
            let whole = Reply(try await Simulator.ask(client, "plain [[sim:echo]]"))
            #expect(whole.text == "plain [[sim:echo]]")
        }
    }

    @Test("thinking splits both tags across events")
    func thinkingDirective() async throws {
        try await Simulator.application(state: SimulatorState()).test(.router) { client in
            let reply = Reply(try await Simulator.ask(client, "[[sim:thinking]]"))
            #expect(reply.text == "<thinking>I should answer briefly.</thinking>\n\nThe answer is 42.")
            #expect(!reply.textPieces.contains { $0.contains("<thinking>") || $0.contains("</thinking>") })
        }
    }

    @Test("usage adds a metadataEvent with token usage before the closing metadata")
    func usageDirective() async throws {
        try await Simulator.application(state: SimulatorState()).test(.router) { client in
            let reply = Reply(try await Simulator.ask(client, "[[sim:usage]]"))
            #expect(reply.text == "Hello! I am the q2api simulator.")
            #expect(Array(reply.eventTypes.suffix(2)) == ["metadataEvent", "messageMetadataEvent"])
            let usage = reply.payload(reply.frames.count - 2)["tokenUsage"]
            #expect(
                usage == ["uncachedInputTokens": 11, "outputTokens": 7, "totalTokens": 18, "cacheReadInputTokens": 5, "cacheWriteInputTokens": 3])
        }
    }

    @Test("exception ends with a ThrottlingException frame, as in exception_stream.bin")
    func exceptionDirective() async throws {
        try await Simulator.application(state: SimulatorState()).test(.router) { client in
            let reply = Reply(try await Simulator.ask(client, "[[sim:exception]]"))
            #expect(reply.error == nil)
            #expect(reply.textPieces == ["Let me think about", " that"])
            let last = try #require(reply.frames.last)
            #expect(last.headers.map(\.name) == [":exception-type", ":content-type", ":message-type"])
            #expect(last.exceptionType == "ThrottlingException")
            #expect(last.messageType == "exception")
            #expect(last.eventType == nil)
            #expect(
                String(buffer: last.payload)
                    == #"{"message":"I am experiencing high traffic, please try again shortly.","reason":"INSUFFICIENT_MODEL_CAPACITY"}"#
            )
            #expect(reply.frames.count == 4)
        }
    }

    @Test("corrupt sends a good frame, then one whose message CRC is wrong")
    func corruptDirective() async throws {
        try await Simulator.application(state: SimulatorState()).test(.router) { client in
            let reply = Reply(try await Simulator.ask(client, "[[sim:corrupt]]"))
            #expect(reply.eventTypes == ["initial-response", "assistantResponseEvent"])
            #expect(reply.error == .messageChecksumMismatch)
        }
    }

    @Test("toolcut:NAME stops inside the first input fragment, without stop or metadata")
    func toolcutDirective() async throws {
        try await Simulator.application(state: SimulatorState()).test(.router) { client in
            let reply = Reply(try await Simulator.ask(client, "[[sim:toolcut:fs_write]]"))
            #expect(reply.error == nil)
            #expect(!reply.text.isEmpty)
            let events = reply.toolEvents
            #expect(events.count == 2)
            #expect(events.allSatisfy { $0["name"] == "fs_write" && $0["stop"] == nil })
            #expect(events[1]["input"] == #"{"path": "a.txt", "content": "abc"#)
            #expect(reply.eventTypes.last == "toolUseEvent")
        }
    }

    @Test("tool results without a directive are listed back, each cut to 200 characters")
    func toolResultsReply() async throws {
        try await Simulator.application(state: SimulatorState()).test(.router) { client in
            let token = try await Simulator.accessToken(client)
            let short = Reply(try await Simulator.ask(client, token: token, body: QBody.toolTurn(resultText: "a.txt\nb.txt")))
            #expect(short.text == "Tool results received: a.txt\nb.txt")

            let long = String(repeating: "x", count: 300)
            let body = QBody.request(
                QBody.user("", toolResults: [QBody.toolResult("t1", long), QBody.toolResult("t2", "two")]),
                history: [
                    ("user", QBody.user("go")),
                    ("assistant", QBody.assistant("", toolUses: [QBody.toolUse("t1", "Bash"), QBody.toolUse("t2", "Bash")])),
                ],
                tools: [QBody.tool("Bash")]
            )
            let reply = Reply(try await Simulator.ask(client, token: token, body: body))
            #expect(reply.text == "Tool results received: " + String(repeating: "x", count: 200) + " | two")
        }
    }

    @Test("a directive in a tool result scripts the next turn")
    func directiveInToolResult() async throws {
        try await Simulator.application(state: SimulatorState()).test(.router) { client in
            let token = try await Simulator.accessToken(client)
            let reply = Reply(try await Simulator.ask(client, token: token, body: QBody.toolTurn(resultText: "done [[sim:text:All done.]]")))
            #expect(reply.text == "All done.")
        }
    }

    @Test("delay:MS paces the frames")
    func delayDirective() async throws {
        try await Simulator.application(state: SimulatorState()).test(.router) { client in
            let start = ContinuousClock.now
            let reply = Reply(try await Simulator.ask(client, "[[sim:delay:20]][[sim:text:0123456789]]"))
            // initial-response, 2 text events, metadata: 3 pauses.
            #expect(ContinuousClock.now - start >= .milliseconds(60))
            #expect(reply.text == "0123456789")
        }
    }

    @Test("hold waits for a release, counted in heldStreams, then finishes")
    func holdDirective() async throws {
        let state = SimulatorState()
        try await Simulator.application(state: state).test(.router) { client in
            let token = try await Simulator.accessToken(client)
            try await withThrowingTaskGroup(of: Reply.self) { group in
                group.addTask {
                    Reply(try await Simulator.ask(client, token: token, body: QBody.simple("[[sim:hold]]")))
                }
                #expect(try await eventually { state.heldStreams == 1 })
                #expect(state.openStreams == 1)
                state.releaseHeld()
                let reply = try #require(try await group.next())
                #expect(reply.textPieces == ["Held: ", "released."])
                #expect(reply.eventTypes.last == "messageMetadataEvent")
            }
            #expect(state.heldStreams == 0)
            #expect(state.openStreams == 0)
        }
    }

    @Test("POST /__sim/release releases held streams; GET /__sim/state shows the counters")
    func controlEndpoints() async throws {
        let state = SimulatorState()
        try await Simulator.application(state: state).test(.router) { client in
            let token = try await Simulator.accessToken(client)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<2 {
                    group.addTask {
                        _ = try await Simulator.ask(client, token: token, body: QBody.simple("[[sim:hold]]"))
                    }
                }
                #expect(try await eventually { state.heldStreams == 2 })
                let snapshot = try await client.execute(uri: "/__sim/state", method: .get)
                for (key, value) in ["openStreams": 2, "totalRequests": 2, "refreshCount": 1, "heldStreams": 2] {
                    #expect(snapshot.json[key]?.intValue == value, "\(key)")
                }
                let release = try await client.execute(uri: "/__sim/release", method: .post)
                #expect(release.json == ["released": 2])
                try await group.waitForAll()
            }
            #expect(state.openStreams == 0)
        }
    }

    @Test("reset aborts the body after a few frames, and the stream is no longer counted")
    func resetDirective() async throws {
        let state = SimulatorState()
        try await Simulator.application(state: state).test(.router) { client in
            await #expect(throws: ReplyStreamer.SimulatedReset.self) {
                _ = try await Simulator.ask(client, "[[sim:reset]]")
            }
            #expect(state.openStreams == 0)
        }
    }

    @Test("over a real connection, reset cuts the chunked body and other replies stream normally")
    func liveServer() async throws {
        let state = SimulatorState()
        let boundPort = Mutex<Int?>(nil)
        let app = QSimulator.application(
            options: SimulatorOptions(defaultReply: .realistic), state: state, host: "127.0.0.1", port: 0, logger: Simulator.logger,
            onBound: { port in boundPort.withLock { $0 = port } }
        )
        try await app.test(.live) { client in
            #expect(boundPort.withLock { $0 } == client.port)
            let reply = Reply(try await Simulator.ask(client, "hello"))
            #expect(reply.text == CannedText.realisticReply)
            #expect(reply.error == nil)

            await #expect(throws: (any Error).self) {
                _ = try await Simulator.ask(client, "[[sim:reset]]")
            }
            #expect(try await eventually { state.openStreams == 0 })
        }
    }
}
