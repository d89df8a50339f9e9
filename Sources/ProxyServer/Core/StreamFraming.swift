import NIOCore
import ProxyModels
import SSE
import Translation

/// Writes a dialect's stream frames as server-sent events, and keeps a copy of the reply when the dialect
/// wants it once the stream is over.
struct StreamFraming<Stream: ReplyStreamEncoder>: Sendable {
    var encoder: Stream
    /// The reply so far, when it is kept (nil otherwise: most streams keep nothing).
    private(set) var kept: ReplyAccumulator?

    init(encoder: Stream, keeping: Bool = false) {
        self.encoder = encoder
        self.kept = keeping ? ReplyAccumulator() : nil
    }

    mutating func appendOpening(to buffer: inout ByteBuffer) {
        for frame in encoder.opening() { Self.write(frame, into: &buffer) }
    }

    mutating func append(_ event: ReplyEvent, to buffer: inout ByteBuffer) {
        kept?.add(event)
        for frame in encoder.encode(event) { Self.write(frame, into: &buffer) }
    }

    mutating func appendKeepAlive(to buffer: inout ByteBuffer) {
        Self.write(encoder.keepAlive(), into: &buffer)
    }

    /// A failure after the stream started: the pump's, or the server stopping.
    mutating func appendFailure(_ failure: ProxyFailure, to buffer: inout ByteBuffer) {
        kept?.fail(failure)
        for frame in encoder.failure(failure) { Self.write(frame, into: &buffer) }
    }

    static func write(_ frame: StreamFrame, into buffer: inout ByteBuffer) {
        switch frame {
        case .event(let name, let data): ServerSentEvent.write(event: name, data: data.jsonBytes, into: &buffer)
        case .data(let text): ServerSentEvent.write(event: nil, data: Array(text.utf8), into: &buffer)
        case .comment(let text): ServerSentEvent.writeComment(text, into: &buffer)
        }
    }
}
