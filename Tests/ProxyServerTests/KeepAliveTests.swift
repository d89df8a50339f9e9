import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization
import Testing
import Translation

@testable import ProxyServer

/// Collects what a response body writes, for tests.
struct RecordingWriter: ResponseBodyWriter {
    let sink: @Sendable (ByteBuffer) -> Void

    mutating func write(_ buffer: ByteBuffer) async throws { sink(buffer) }
    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
}

@Suite("Keep-alive while the upstream is silent")
struct KeepAliveTests {
    @Test("pings are sent while no event arrives, then the events flow")
    func pingsDuringSilence() async throws {
        let channel = ReplyChannel()
        let written = Recorder()
        let producer = Task {
            // Stay silent until four pings went out (bounded), so the test does not depend on timing.
            let deadline = ContinuousClock.now + .seconds(20)
            while written.text.components(separatedBy: "event: ping").count - 1 < 4, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(10))
            }
            await channel.send(.events([.blockStart(index: 0, block: .text), .textDelta(index: 0, text: "late"), .blockStop(index: 0)]))
            await channel.send(.events([.finish(.init(stopReason: .endTurn, usage: .init(inputTokens: 1, outputTokens: 1)))]))
            channel.finish()
        }
        var writer: any ResponseBodyWriter = RecordingWriter(sink: { written.append(String(buffer: $0)) })
        var framing = StreamFraming(
            encoder: ClaudeDialect().streamEncoder(
                for: .init(conversation: .init(model: "m", messages: [])), header: .init(id: "msg_x", model: "m", created: 0, inputTokens: 1)))
        try await ReplyExchange.streamEvents(channel, framing: &framing, pingInterval: .milliseconds(50), writer: &writer)
        _ = await producer.result
        let text = written.text
        let pingsBeforeText = text.components(separatedBy: "event: content_block_delta").first?.components(separatedBy: "event: ping").count ?? 0
        #expect(pingsBeforeText - 1 >= 4, "keep-alive pings went out while the upstream was silent")
        #expect(text.hasSuffix("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"))
    }
}

final class Recorder: Sendable {
    private let storage = Mutex<[String]>([])
    func append(_ text: String) { storage.withLock { $0.append(text) } }
    var text: String { storage.withLock { $0.joined() } }
}
