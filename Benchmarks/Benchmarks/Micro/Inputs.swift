// The inputs of the micro-benchmarks, built once before any measurement.
import Accounts
import Benchmark
import EventStream
import Foundation
import NIOCore
import ProxyModels
import SSE
import Translation

// MARK: - Event-stream bodies

/// A response body of event-stream frames.
struct DecodeInput: Sendable {
    var name: String
    var frames: Int
    var body: ByteBuffer

    static let all: [DecodeInput] = [
        realisticReply(),
        uniform(name: "1 KiB frames", frameBytes: 1024, count: 1024),
        uniform(name: "16 KiB frames", frameBytes: 16 * 1024, count: 64),
    ]

    /// The simulator's `--reply realistic` body: `initial-response`, about 110 text deltas of 8 to 15 characters
    /// (Sources/QSimulator/ReplyBuilder.swift, CannedText.swift), `messageMetadataEvent`.
    static func realisticReply() -> DecodeInput {
        var body = ByteBuffer()
        for frame in ReplyInput.realisticFrames() {
            try! EventStreamEncoder.encode(frame, into: &body)
        }
        return DecodeInput(name: "realistic reply", frames: ReplyInput.realisticFrames().count, body: body)
    }

    /// `count` text frames of exactly `frameBytes` bytes each.
    static func uniform(name: String, frameBytes: Int, count: Int) -> DecodeInput {
        let prefix = #"{"content":""#
        let suffix = #""}"#
        let overhead = try! EventStreamEncoder.encode(textFrame(payload: prefix + suffix)).readableBytes
        let frame = textFrame(payload: prefix + String(repeating: "x", count: frameBytes - overhead) + suffix)
        var body = ByteBuffer()
        for _ in 0..<count {
            try! EventStreamEncoder.encode(frame, into: &body)
        }
        precondition(body.readableBytes == count * frameBytes)
        return DecodeInput(name: name, frames: count, body: body)
    }
}

/// An Amazon Q event frame the way Sources/QSimulator/EventFrame.swift writes it.
func eventFrame(_ eventType: String, _ payload: JSONValue) -> EventStreamMessage {
    EventStreamMessage(
        headers: [
            EventStreamHeader(name: ":event-type", value: .string(eventType)),
            EventStreamHeader(name: ":content-type", value: .string("application/json")),
            EventStreamHeader(name: ":message-type", value: .string("event")),
        ],
        payload: ByteBuffer(bytes: payload.jsonBytes)
    )
}

func textFrame(payload: String) -> EventStreamMessage {
    var message = eventFrame("assistantResponseEvent", [:])
    message.payload = ByteBuffer(string: payload)
    return message
}

// MARK: - Replies

struct ReplyInput: Sendable {
    /// The simulator's realistic reply text (Sources/QSimulator/CannedText.swift, `realisticReply`).
    static let realisticText = """
        Great question! Here is a short overview of how a streaming proxy like this one usually works.

        **1. Accepting the request.** The proxy receives a Claude or OpenAI style request, checks the API key, \
        and converts the messages, tools and images into the upstream conversation format. System prompts are \
        folded into the first user turn, because the upstream has no separate field for them.

        **2. Choosing an account.** A pool of accounts is kept warm. Each account has an access token that is \
        refreshed shortly before it expires, and accounts that are throttled or suspended are cooled down so \
        that traffic moves to healthy ones.

        **3. Streaming the answer.** The upstream replies with binary event-stream frames. Each frame is checked, \
        decoded and translated into server-sent events as soon as it arrives, so the client sees the first words \
        within a fraction of a second.

        **4. Handling failures.** Errors before the first byte can be retried on another account; errors in the \
        middle of a stream are reported to the client as a proper error event instead of a silently cut reply.

        In short, the proxy is a translator, a scheduler and a safety net at the same time.

        Let me know if you would like more detail on any of these steps, or an example configuration.
        """

    /// Sources/QSimulator/ReplyBuilder.swift, `realisticEventSizes`.
    static let realisticEventSizes = [9, 12, 14, 10, 13, 11, 8, 15, 12, 10]

    static func realisticFrames() -> [EventStreamMessage] {
        let conversationID = "7a8a8822-f5ea-4429-b39e-8bdd84e044dd"
        var frames = [eventFrame("initial-response", ["conversationId": .string(conversationID)])]
        var rest = Substring(realisticText)
        var index = 0
        while !rest.isEmpty {
            let size = realisticEventSizes[index % realisticEventSizes.count]
            frames.append(eventFrame("assistantResponseEvent", ["content": .string(String(rest.prefix(size)))]))
            rest = rest.dropFirst(size)
            index += 1
        }
        frames.append(
            eventFrame(
                "messageMetadataEvent",
                ["conversationId": .string(conversationID), "utteranceId": "3f0c2a9e-4d1b-4c53-9a57-2b1e6f0d8c11"]
            )
        )
        return frames
    }

    var wire: ByteBuffer
    var events: [QEvent]

    static let realistic: ReplyInput = {
        var wire = ByteBuffer()
        var events: [QEvent] = []
        for frame in realisticFrames() {
            try! EventStreamEncoder.encode(frame, into: &wire)
            events.append(qEvent(frame))
        }
        return ReplyInput(wire: wire, events: events)
    }()

    /// `QEventStream.event(from:)` (Sources/Upstream/AmazonQClient.swift) for the event frames used here; that
    /// module needs AsyncHTTPClient, which this package keeps out.
    static func qEvent(_ message: EventStreamMessage) -> QEvent {
        guard let eventType = message.eventType else { return .ignored("") }
        let payload = message.payload.withUnsafeReadableBytes { raw in
            try? JSONParser.parse(
                UnsafeBufferPointer(start: raw.baseAddress?.assumingMemoryBound(to: UInt8.self), count: raw.count)
            )
        }
        return QEvent.from(eventType: eventType, payload: payload ?? .object([]))
    }

    static let translatorConfiguration = ReplyTranslator.Configuration(maxTokens: 32_000, inputTokens: 1_000)

    static let header = ReplyHeader(id: "msg_bench", model: "claude-sonnet-4-5", created: 1_750_000_000, inputTokens: 1_000)
    static let claudeRequest = try! ClaudeDialect().decode(
        try! JSONParser.parse(#"{"model":"claude-sonnet-4-5","max_tokens":32000,"stream":true,"messages":[{"role":"user","content":"hi"}]}"#))
    static let openAIRequest = try! OpenAIChatDialect().decode(
        try! JSONParser.parse(
            #"{"model":"claude-sonnet-4-5","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}"#))
    static let responsesRequest = try! ResponsesDialect().decode(
        try! JSONParser.parse(#"{"model":"claude-sonnet-4-5","stream":true,"input":"hi"}"#))

    /// A dialect's stream as the server writes it (`StreamFraming`): the opening frames, then each translated event
    /// through the encoder's `write` (deltas through their frame template), into one byte array.
    static func sse<D: Dialect>(_ dialect: D, _ request: D.Request, events: [QEvent]) -> [UInt8] {
        var translator = ReplyTranslator(translatorConfiguration)
        var encoder = dialect.streamEncoder(for: request, header: header)
        var bytes: [UInt8] = []
        for frame in encoder.opening() { frame.write(into: &bytes) }
        for event in events {
            for reply in translator.handle(event) { encoder.write(reply, into: &bytes) }
        }
        for reply in translator.finish() { encoder.write(reply, into: &bytes) }
        return bytes
    }

    func claudeSSE() -> [UInt8] { Self.sse(ClaudeDialect(), Self.claudeRequest, events: events) }
    func openAISSE() -> [UInt8] { Self.sse(OpenAIChatDialect(), Self.openAIRequest, events: events) }
    func responsesSSE() -> [UInt8] { Self.sse(ResponsesDialect(), Self.responsesRequest, events: events) }

    /// From the upstream's body bytes: decode every frame, parse its payload, then `claudeSSE(events:)`.
    func claudeSSEFromWire() throws -> [UInt8] {
        var decoder = EventStreamDecoder()
        var buffer = self.wire
        var events: [QEvent] = []
        events.reserveCapacity(self.events.count)
        while let message = try decoder.decode(buffer: &buffer) {
            events.append(Self.qEvent(message))
        }
        return Self.sse(ClaudeDialect(), Self.claudeRequest, events: events)
    }
}

// MARK: - Requests

struct PlanInput: Sendable {
    var name: String
    var body: [UInt8]

    static let all: [PlanInput] = [
        PlanInput(
            name: "short chat",
            body: Array(
                #"{"model":"claude-sonnet-4-5","max_tokens":1024,"stream":true,"messages":[{"role":"user","content":"Hello, how are you?"}]}"#
                    .utf8)
        ),
        PlanInput(name: "Claude Code session", body: claudeCodeSession()),
    ]

    /// A recorded-shape Claude Code request: system blocks, 9 tools, 52 messages with tool use and results
    /// (Tests/ProxyServerTests/Fixtures/claude_code_session.json), re-serialised compactly as a client sends it.
    static func claudeCodeSession() -> [UInt8] {
        let url = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
            .appendingPathComponent("Tests/ProxyServerTests/Fixtures/claude_code_session.json")
        guard let data = try? Data(contentsOf: url), let value = try? JSONParser.parse(Array(data)) else {
            fatalError("cannot read \(url.path)")
        }
        return value.jsonBytes
    }

    /// What DialectController and ReplyExchange do before the first upstream byte: parse, decode, build, write.
    func plan() throws -> [UInt8] {
        let json = try JSONParser.parse(self.body)
        let conversation = try ClaudeRequestDecoder.decode(json)
        let plan = try UpstreamRequestBuilder.build(
            conversation,
            options: .init(
                modelID: "claude-sonnet-4.5", currentTime: "2026-11-22T06:36:00Z",
                makeID: { "5d8f1f5e-6c1b-4b8e-9a51-0c2f6a3d7e90" }
            )
        )
        return plan.body.jsonBytes
    }
}

// MARK: - Account pool

enum PoolInput {
    /// Four accounts with a token each, already fetched, so that `accessToken(for:)` returns the cached one.
    static func makePool() async -> AccountPool {
        let accounts = (1...4).map {
            AccountCredentials(
                id: "account-\($0)", label: "Account \($0)", clientID: "client", clientSecret: "secret",
                refreshToken: "refresh-\($0)")
        }
        let pool = AccountPool(accounts: accounts) { credentials throws(TokenRefreshError) in
            RefreshedToken(accessToken: "token-\(credentials.id)", expiresIn: .seconds(3600), refreshToken: nil)
        }
        for account in accounts {
            _ = try? await pool.accessToken(for: account.id)
        }
        return pool
    }

    /// `total` checkouts spread over `tasks` concurrent tasks, each one as a request does it: checkout, token,
    /// checkin with success.
    static func run(_ pool: AccountPool, tasks: Int, total: Int) async {
        let perTask = max(1, total / tasks)
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<tasks {
                group.addTask {
                    for _ in 0..<perTask {
                        guard case .account(let account) = pool.checkout() else {
                            fatalError("no account")
                        }
                        blackHole(try? await pool.accessToken(for: account.id))
                        pool.checkin(account.id, outcome: .success)
                    }
                }
            }
        }
    }
}
