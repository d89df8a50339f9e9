import NIOCore
import Translation

/// Writes a dialect's stream as server-sent-event bytes, and keeps a copy of the reply when the dialect wants it
/// once the stream is over.
///
/// The encoder writes into one byte array that lives as long as the stream (``bytes``); the writer copies it into
/// the response once per batch of events, so an upstream read that carried many frames is one client write.
struct StreamFraming<Stream: ReplyStreamEncoder>: Sendable {
    var encoder: Stream
    /// The reply so far, when it is kept (nil otherwise: most streams keep nothing).
    private(set) var kept: ReplyAccumulator?
    /// What was written since the last ``flush(into:)``.
    private(set) var bytes: [UInt8] = []

    init(encoder: Stream, keeping: Bool = false) {
        self.encoder = encoder
        self.kept = keeping ? ReplyAccumulator() : nil
    }

    mutating func appendOpening() {
        for frame in encoder.opening() { frame.write(into: &bytes) }
    }

    mutating func append(_ event: ReplyEvent) {
        kept?.add(event)
        encoder.write(event, into: &bytes)
    }

    mutating func appendKeepAlive() {
        encoder.keepAlive().write(into: &bytes)
    }

    /// A failure after the stream started: the pump's, or the server stopping.
    mutating func appendFailure(_ failure: ProxyFailure) {
        kept?.fail(failure)
        for frame in encoder.failure(failure) { frame.write(into: &bytes) }
    }

    /// Whether anything was written since the last flush.
    var isEmpty: Bool { bytes.isEmpty }

    /// Moves what was written into `buffer`, keeping the array's capacity for the next batch.
    mutating func flush(into buffer: inout ByteBuffer) {
        buffer.writeBytes(bytes)
        bytes.removeAll(keepingCapacity: true)
    }
}
