import AsyncHTTPClient
import EventStream
import Foundation
import NIOCore
import ProxyModels
import Testing

@testable import Upstream

/// `QEventStream` driven without a network: its body is an `AsyncThrowingStream` of the reads a test chooses,
/// wrapped by AsyncHTTPClient's own `HTTPClientResponse.Body.stream(_:)`, the same type a live response has.
@Suite("QEventStream: batches of events from network reads")
struct QEventStreamTests {
    // MARK: - Frames split across reads, several frames per read

    @Test("the whole body in one read is one batch of every event, then the end")
    func oneRead() async throws {
        let frames = try Frames.conversation()
        var iterator = QEventStream.over(reads: [frames.joined]).makeAsyncIterator()
        #expect(try await iterator.nextBatch() == frames.events)
        #expect(try await iterator.nextBatch() == nil)
        // The end is sticky: asking again still says so.
        #expect(try await iterator.nextBatch() == nil)
    }

    @Test("one frame per read is one batch per frame")
    func framePerRead() async throws {
        let frames = try Frames.conversation()
        let drained = await Drained(QEventStream.over(reads: frames.bytes))
        #expect(drained.batches == frames.events.map { [$0] })
        #expect(drained.failure == nil)
    }

    @Test(
        "frames cut anywhere: each batch holds exactly the frames the reads so far completed, none waits for more bytes",
        arguments: ReadSizes.all
    )
    func anyCut(sizes: ReadSizes) async throws {
        let frames = try Frames.conversation()
        let reads = sizes.cut(frames.joined)
        let drained = await Drained(QEventStream.over(reads: reads))
        #expect(drained.failure == nil)
        #expect(
            drained.batches == Frames.expectedBatches(frameLengths: frames.bytes.map(\.count), readLengths: reads.map(\.count), events: frames.events)
        )
        #expect(drained.batches.joined().elementsEqual(frames.events))
    }

    @Test("the recorded Amazon Q samples in reads of any size give the events of their frames, in order", arguments: Frames.sampleNames)
    func samples(name: String) async throws {
        let sample = try Frames.sample(name)
        for sizes in ReadSizes.all {
            let reads = sizes.cut(sample.joined)
            let drained = await Drained(QEventStream.over(reads: reads))
            #expect(drained.failure == nil, "\(sizes)")
            #expect(
                drained.batches
                    == Frames.expectedBatches(frameLengths: sample.bytes.map(\.count), readLengths: reads.map(\.count), events: sample.events),
                "\(sizes)")
        }
    }

    @Test("a batch is handed out as soon as a read completes a frame, without waiting for the next read", .timeLimit(.minutes(1)))
    func noWaitForMoreBytes() async throws {
        let frames = try Frames.conversation()
        let (reads, writer) = AsyncThrowingStream<ByteBuffer, any Error>.makeStream()
        var iterator = QEventStream(body: .stream(reads)).makeAsyncIterator()
        // The first two frames and half of the third.
        let cut = frames.bytes[2].count / 2
        writer.yield(ByteBuffer(bytes: frames.bytes[0] + frames.bytes[1] + frames.bytes[2][..<cut]))
        #expect(try await iterator.nextBatch() == Array(frames.events[0...1]))
        // Had it waited for more, nothing would come: the rest is only written now.
        writer.yield(ByteBuffer(bytes: frames.bytes[2][cut...]))
        #expect(try await iterator.nextBatch() == [frames.events[2]])
        writer.yield(ByteBuffer(bytes: frames.bytes[3...].joined()))
        writer.finish()
        #expect(try await iterator.nextBatch() == Array(frames.events[3...]))
        #expect(try await iterator.nextBatch() == nil)
    }

    @Test("empty reads and an empty body")
    func emptyReads() async throws {
        let frames = try Frames.conversation()
        #expect(await Drained(QEventStream.over(reads: [])).batches.isEmpty)
        #expect(await Drained(QEventStream.over(reads: [[], []])).batches.isEmpty)
        let drained = await Drained(QEventStream.over(reads: [[], frames.bytes[0], [], [], frames.bytes[1], []]))
        #expect(drained.batches == [[frames.events[0]], [frames.events[1]]])
        #expect(drained.failure == nil)
    }

    @Test("exception and error frames are events of the batch, not thrown")
    func exceptionFrames() async throws {
        let text = try Frames.event("assistantResponseEvent", #"{"content":"Hi"}"#)
        let exception = try Frames.exception("ThrottlingException", #"{"message":"Too many requests"}"#)
        let drained = await Drained(QEventStream.over(reads: [text + exception]))
        #expect(drained.failure == nil)
        let batch = try #require(drained.batches.first)
        #expect(drained.batches.count == 1 && batch.count == 2)
        #expect(batch.first == .text("Hi"))
        guard case .failure(let failure)? = batch.last else {
            Issue.record("expected a failure event, got \(String(describing: batch.last))")
            return
        }
        #expect(failure.kind == .throttled)
        #expect(failure.message == "Too many requests")
    }

    // MARK: - Corruption: the good frames first, then the error

    @Test(
        "a corrupt frame after good ones in the same read: the good ones come as a batch, the error on the next call",
        arguments: [Corruption.messageCRC, .preludeCRC, .length]
    )
    func corruptAfterGoodFramesInOneRead(corruption: Corruption) async throws {
        let frames = try Frames.conversation()
        // Two good frames, a corrupt one, and a good one the stream must never hand out after the corruption.
        let body = frames.bytes[0] + frames.bytes[1] + corruption.apply(to: frames.bytes[2]) + frames.bytes[3]
        var iterator = QEventStream.over(reads: [body]).makeAsyncIterator()
        #expect(try await iterator.nextBatch() == Array(frames.events[0...1]))
        let failure = await Self.failure { () async throws(QUpstreamFailure) in try await iterator.nextBatch() }
        #expect(failure?.name == "CorruptStream")
        #expect(failure?.kind == .transient)
        #expect(failure?.reason == corruption.reason)
        #expect(failure?.message.hasPrefix("the upstream stream is corrupt: ") == true)
        // The stream stays broken: the bytes after the corruption are never trusted.
        let again = await Self.failure { () async throws(QUpstreamFailure) in try await iterator.nextBatch() }
        #expect(again?.name == "CorruptStream" && again?.reason == corruption.reason)
    }

    @Test("a corrupt frame in a read of its own after good reads: each good read is a batch, then the error")
    func corruptInALaterRead() async throws {
        let frames = try Frames.conversation()
        let reads = [frames.bytes[0], frames.bytes[1], Corruption.messageCRC.apply(to: frames.bytes[2]), frames.bytes[3]]
        let drained = await Drained(QEventStream.over(reads: reads))
        #expect(drained.batches == [[frames.events[0]], [frames.events[1]]])
        #expect(drained.failure?.name == "CorruptStream" && drained.failure?.reason == "message_crc")
    }

    @Test("a corrupt first frame is thrown at once, with no batch before it")
    func corruptFirstFrame() async throws {
        let frames = try Frames.conversation()
        let drained = await Drained(QEventStream.over(reads: [Corruption.preludeCRC.apply(to: frames.bytes[0]) + frames.bytes[1]]))
        #expect(drained.batches.isEmpty)
        #expect(drained.failure?.name == "CorruptStream" && drained.failure?.reason == "prelude_crc")
    }

    @Test("corruption split across reads: the good frames are delivered, then the error", arguments: ReadSizes.all)
    func corruptionAnyCut(sizes: ReadSizes) async throws {
        let frames = try Frames.conversation()
        let good = Array(frames.bytes[0...2])
        let body = good.joined() + Corruption.messageCRC.apply(to: frames.bytes[3]) + frames.bytes[4]
        let drained = await Drained(QEventStream.over(reads: sizes.cut(Array(body))))
        #expect(Array(drained.batches.joined()) == Array(frames.events[0...2]))
        #expect(drained.failure?.reason == "message_crc")
    }

    // MARK: - End of stream mid-frame, network errors

    @Test("the body ends inside a frame: the whole frames come first, then a truncated-stream error", arguments: [1, 5, 11, 12, 13, 20])
    func endsMidFrame(keep: Int) async throws {
        let frames = try Frames.conversation()
        let partial = Array(frames.bytes[2].prefix(keep))
        for reads in [[frames.bytes[0] + frames.bytes[1] + partial], [frames.bytes[0], frames.bytes[1], partial]] {
            let drained = await Drained(QEventStream.over(reads: reads))
            #expect(Array(drained.batches.joined()) == Array(frames.events[0...1]))
            #expect(drained.failure?.name == "CorruptStream")
            #expect(drained.failure?.reason == "truncated")
        }
    }

    @Test("a body that is only part of a prelude is a truncated stream, not an empty one")
    func onlyPartOfAPrelude() async throws {
        let drained = await Drained(QEventStream.over(reads: [[0x00, 0x00, 0x00]]))
        #expect(drained.batches.isEmpty)
        #expect(drained.failure?.reason == "truncated")
    }

    @Test("a network error after good frames: the frames first, then a transient failure naming the error")
    func networkErrorAfterFrames() async throws {
        let frames = try Frames.conversation()
        let reads = [frames.bytes[0] + frames.bytes[1] + frames.bytes[2].prefix(7)]
        let errors: [(any Error, String)] = [
            (HTTPClientError.remoteConnectionClosed, "ConnectionClosed"), (HTTPClientError.readTimeout, "ReadTimeout"),
        ]
        for (error, name) in errors {
            let drained = await Drained(QEventStream.over(reads: reads, thenThrow: error))
            #expect(drained.batches == [Array(frames.events[0...1])])
            #expect(drained.failure?.kind == .transient)
            #expect(drained.failure?.name == name)
        }
        let cancelled = await Drained(QEventStream.over(reads: reads, thenThrow: CancellationError()))
        #expect(cancelled.failure?.name == "Cancelled")
    }

    @Test("iterating with for-await gives the same events, and the same deferred error")
    func asyncSequence() async throws {
        let frames = try Frames.conversation()
        let body = frames.bytes[0] + frames.bytes[1] + Corruption.messageCRC.apply(to: frames.bytes[2])
        var events: [QEvent] = []
        do throws(QUpstreamFailure) {
            for try await event in QEventStream.over(reads: [body]) { events.append(event) }
            Issue.record("the stream ended without the corruption error")
        } catch {
            #expect(error.reason == "message_crc")
        }
        #expect(events == Array(frames.events[0...1]))
    }

    // MARK: - Helpers

    /// The failure `body` throws, or nil (recording an issue) when it returns.
    static func failure<T>(_ body: () async throws(QUpstreamFailure) -> T) async -> QUpstreamFailure? {
        do throws(QUpstreamFailure) {
            let value = try await body()
            Issue.record("expected a QUpstreamFailure, got \(value)")
            return nil
        } catch {
            return error
        }
    }
}

// MARK: - Test support

extension QEventStream {
    /// A stream whose body delivers `reads` one by one, then ends (or throws `error`).
    static func over(reads: [[UInt8]], thenThrow error: (any Error)? = nil) -> QEventStream {
        let body = AsyncThrowingStream<ByteBuffer, any Error> { continuation in
            for read in reads { continuation.yield(ByteBuffer(bytes: read)) }
            continuation.finish(throwing: error)
        }
        return QEventStream(body: .stream(body))
    }
}

/// Everything `nextBatch` hands out until the end or the first error.
struct Drained {
    var batches: [[QEvent]] = []
    var failure: QUpstreamFailure?

    init(_ stream: QEventStream) async {
        var iterator = stream.makeAsyncIterator()
        do throws(QUpstreamFailure) {
            while let batch = try await iterator.nextBatch() {
                if batch.isEmpty { Issue.record("nextBatch returned an empty batch") }
                self.batches.append(batch)
            }
        } catch {
            self.failure = error
        }
    }
}

/// How a test cuts a body into network reads.
enum ReadSizes: Sendable, CustomTestStringConvertible {
    case whole
    case fixed(Int)
    /// Sizes taken in turn, cycling.
    case cycle([Int])

    static let all: [ReadSizes] = [
        .whole, .fixed(1), .fixed(2), .fixed(7), .fixed(12), .fixed(13), .fixed(64), .cycle([7, 1, 13, 64, 3, 301]), .cycle([300, 1, 1]),
    ]

    var testDescription: String {
        switch self {
        case .whole: "in one read"
        case .fixed(let size): "in \(size)-byte reads"
        case .cycle(let sizes): "in reads of \(sizes.map(String.init).joined(separator: ", ")) bytes, cycling"
        }
    }

    func cut(_ bytes: [UInt8]) -> [[UInt8]] {
        let sizes: [Int]
        switch self {
        case .whole: return [bytes]
        case .fixed(let size): sizes = [size]
        case .cycle(let cycle): sizes = cycle
        }
        var reads: [[UInt8]] = []
        var offset = 0
        while offset < bytes.count {
            let size = min(sizes[reads.count % sizes.count], bytes.count - offset)
            reads.append(Array(bytes[offset..<(offset + size)]))
            offset += size
        }
        return reads
    }
}

/// A way to break a frame, and the `reason` the stream's failure then carries.
enum Corruption: Sendable, CustomTestStringConvertible {
    /// A payload byte flipped: the message CRC no longer matches.
    case messageCRC
    /// A length byte flipped: the prelude CRC no longer matches.
    case preludeCRC
    /// The prelude rewritten with a total length under 16 and its CRC recomputed.
    case length

    var testDescription: String {
        switch self {
        case .messageCRC: "a bad message CRC"
        case .preludeCRC: "a bad prelude CRC"
        case .length: "an impossible length with a valid prelude CRC"
        }
    }

    var reason: String {
        switch self {
        case .messageCRC: "message_crc"
        case .preludeCRC: "prelude_crc"
        case .length: "invalid_length"
        }
    }

    func apply(to frame: [UInt8]) -> [UInt8] {
        var frame = frame
        switch self {
        case .messageCRC:
            frame[frame.count - 5] ^= 0x01
        case .preludeCRC:
            frame[3] ^= 0x01
        case .length:
            frame.replaceSubrange(0..<4, with: [0, 0, 0, 8])
            let crc = CRC32.checksum(frame[0..<8])
            frame.replaceSubrange(8..<12, with: [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: crc >> $0) })
        }
        return frame
    }
}

/// Frames built with `EventStreamEncoder`, or read from the recorded samples, with the events they stand for.
struct Frames {
    var bytes: [[UInt8]]
    var events: [QEvent]

    var joined: [UInt8] { Array(self.bytes.joined()) }

    /// A short reply as Amazon Q sends it: the initial response, text, a tool call in fragments, usage.
    static func conversation() throws -> Frames {
        let parts: [([UInt8], QEvent)] = [
            (try event("initial-response", #"{"conversationId":"c-1"}"#), .initialResponse(conversationID: "c-1")),
            (try event("assistantResponseEvent", #"{"content":"Hello"}"#), .text("Hello")),
            (try event("assistantResponseEvent", #"{"content":", wörld 🙂"}"#), .text(", wörld 🙂")),
            (
                try event("toolUseEvent", #"{"toolUseId":"t1","name":"get_weather"}"#),
                .toolUse(id: "t1", name: "get_weather", input: nil, stop: false)
            ),
            (
                try event("toolUseEvent", #"{"toolUseId":"t1","name":"get_weather","input":"{\"city\":"}"#),
                .toolUse(id: "t1", name: "get_weather", input: #"{"city":"#, stop: false)
            ),
            (
                try event("toolUseEvent", #"{"toolUseId":"t1","name":"get_weather","input":"\"Paris\"}","stop":true}"#),
                .toolUse(id: "t1", name: "get_weather", input: #""Paris"}"#, stop: true)
            ),
            (try event("codeReferenceEvent", "{}"), .codeReference),
            (
                try event("metadataEvent", #"{"tokenUsage":{"uncachedInputTokens":10,"outputTokens":5}}"#),
                .usage(QTokenUsage(uncachedInputTokens: 10, outputTokens: 5))
            ),
            (try event("somethingNew", #"{"x":1}"#), .ignored("somethingNew")),
        ]
        return Frames(bytes: parts.map(\.0), events: parts.map(\.1))
    }

    static func event(_ type: String, _ json: String) throws -> [UInt8] {
        try self.encode(
            [
                EventStreamHeader(name: ":event-type", value: .string(type)),
                EventStreamHeader(name: ":content-type", value: .string("application/json")),
                EventStreamHeader(name: ":message-type", value: .string("event")),
            ], json)
    }

    static func exception(_ type: String, _ json: String) throws -> [UInt8] {
        try self.encode(
            [
                EventStreamHeader(name: ":exception-type", value: .string(type)),
                EventStreamHeader(name: ":content-type", value: .string("application/json")),
                EventStreamHeader(name: ":message-type", value: .string("exception")),
            ], json)
    }

    private static func encode(_ headers: [EventStreamHeader], _ json: String) throws -> [UInt8] {
        Array(try EventStreamEncoder.encode(EventStreamMessage(headers: headers, payload: ByteBuffer(string: json))).readableBytesView)
    }

    static let sampleNames = ["text_stream", "tool_use_stream", "exception_stream"]

    /// A recorded body from `Tests/EventStreamTests/Samples`, cut into its frames with the decoder, each frame's
    /// event given by `QEventStream.event(from:)`.
    static func sample(_ name: String) throws -> Frames {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("EventStreamTests/Samples/\(name).bin")
        let body = Array(try Data(contentsOf: url))
        var buffer = ByteBuffer(bytes: body)
        var decoder = EventStreamDecoder()
        var frames = Frames(bytes: [], events: [])
        var start = 0
        while let message = try decoder.decode(buffer: &buffer) {
            let end = body.count - buffer.readableBytes
            frames.bytes.append(Array(body[start..<end]))
            frames.events.append(QEventStream.event(from: message))
            start = end
        }
        try #require(buffer.readableBytes == 0 && !frames.bytes.isEmpty)
        return frames
    }

    /// The batches `nextBatch` must hand out: a batch ends with the read that completes its first frame, and holds
    /// every frame that read and the earlier ones completed.
    static func expectedBatches(frameLengths: [Int], readLengths: [Int], events: [QEvent]) -> [[QEvent]] {
        var batches: [[QEvent]] = []
        var frameEnd = 0
        var readEnd = 0
        var reads = readLengths.makeIterator()
        var lastRead = -1
        var readIndex = -1
        for (index, length) in frameLengths.enumerated() {
            frameEnd += length
            while readEnd < frameEnd, let next = reads.next() {
                readEnd += next
                readIndex += 1
            }
            if readIndex == lastRead {
                batches[batches.count - 1].append(events[index])
            } else {
                batches.append([events[index]])
                lastRead = readIndex
            }
        }
        return batches
    }
}
