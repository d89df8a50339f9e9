import NIOCore

/// A reply stream worked out in advance: encoded frames plus the points where the stream pauses for a
/// release or breaks the connection. ``ReplyStreamer`` plays it.
struct ReplyScript: Sendable {
    enum Step: Sendable {
        /// One encoded frame, sent as it is (it may be deliberately corrupt).
        case frame(ByteBuffer)
        /// Deliver everything so far, then wait for ``SimulatorState/releaseHeld()``.
        case hold
        /// Deliver everything so far, then abort the connection without ending the chunked body.
        case reset
    }

    var steps: [Step] = []
    /// The pause between two frames.
    var frameDelay: Duration = .zero

    mutating func append(_ frame: ByteBuffer) {
        self.steps.append(.frame(frame))
    }
}

/// What the Q endpoint answers to a valid request: an HTTP error or a stream.
enum ReplyPlan: Sendable {
    case failure(QServiceError)
    case stream(ReplyScript)
}
