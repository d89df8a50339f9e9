import EventStream
import HTTPTypes
import Hummingbird
import NIOCore
import ProxyModels
import Synchronization
import Testing

@testable import QSimulator

/// Records every write, to check how a reply is cut up.
final class RecordingWriter: ResponseBodyWriter, @unchecked Sendable {
    var writes: [ByteBuffer] = []
    var finished = false

    func write(_ buffer: ByteBuffer) async throws {
        self.writes.append(buffer)
    }

    func finish(_ trailingHeaders: HTTPFields?) async throws {
        self.finished = true
    }
}

@Suite("Reply streamer")
struct ReplyStreamerTests {
    private func script(frames: Int) throws -> ReplyScript {
        var script = ReplyScript()
        script.append(try EventFrame.event("initial-response", ["conversationId": "c"]))
        for index in 0..<frames {
            script.append(try EventFrame.text("piece \(index)"))
        }
        return script
    }

    @Test("frames are written in cycling odd-sized pieces that split and share frames")
    func pieces() async throws {
        let script = try self.script(frames: 20)
        let recorder = RecordingWriter()
        var writer: any ResponseBodyWriter = recorder
        try await ReplyStreamer.play(script, state: SimulatorState(), writer: &writer)
        #expect(recorder.finished)

        let sizes = recorder.writes.map(\.readableBytes)
        #expect(Array(sizes.dropLast()) == (0..<(sizes.count - 1)).map { ReplyStreamer.pieceSizes[$0 % ReplyStreamer.pieceSizes.count] })
        #expect(sizes.contains(301))

        var all = ByteBuffer()
        for piece in recorder.writes { all.writeImmutableBuffer(piece) }
        var expected = ByteBuffer()
        for case .frame(let frame) in script.steps { expected.writeImmutableBuffer(frame) }
        #expect(all == expected)

        var decoder = EventStreamDecoder()
        var count = 0
        while try decoder.decodeLast(buffer: &all, seenEOF: true) != nil { count += 1 }
        #expect(count == 21)
    }

    @Test("with writes: frames, each frame is exactly one write")
    func wholeFrames() async throws {
        let script = try self.script(frames: 20)
        let recorder = RecordingWriter()
        var writer: any ResponseBodyWriter = recorder
        try await ReplyStreamer.play(script, state: SimulatorState(), writes: .frames, writer: &writer)
        #expect(recorder.finished)
        var frames: [ByteBuffer] = []
        for case .frame(let frame) in script.steps { frames.append(frame) }
        #expect(recorder.writes == frames)
    }

    @Test("with a frame delay every frame is delivered whole before the pause")
    func flushBeforePause() async throws {
        var script = try self.script(frames: 3)
        script.frameDelay = .milliseconds(1)
        let recorder = RecordingWriter()
        var writer: any ResponseBodyWriter = recorder
        try await ReplyStreamer.play(script, state: SimulatorState(), writer: &writer)

        var boundaries: Set<Int> = []
        var offset = 0
        for case .frame(let frame) in script.steps {
            offset += frame.readableBytes
            boundaries.insert(offset)
        }
        var written = 0
        var ends: Set<Int> = []
        for piece in recorder.writes {
            written += piece.readableBytes
            ends.insert(written)
        }
        #expect(boundaries.isSubset(of: ends))
    }

    @Test("openStreams is released when the writer fails")
    func writerFailure() async throws {
        struct Gone: Error {}
        final class FailingWriter: ResponseBodyWriter, @unchecked Sendable {
            func write(_ buffer: ByteBuffer) async throws { throw Gone() }
            func finish(_ trailingHeaders: HTTPFields?) async throws {}
        }
        let state = SimulatorState()
        var writer: any ResponseBodyWriter = FailingWriter()
        await #expect(throws: Gone.self) {
            try await ReplyStreamer.play(try self.script(frames: 2), state: state, writer: &writer)
        }
        #expect(state.openStreams == 0)
    }
}
