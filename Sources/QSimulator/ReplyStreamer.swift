import Hummingbird
import NIOCore

/// Plays a ``ReplyScript`` into a response body the way a real network delivers it: in odd-sized
/// pieces, so that frames are split across writes and several frames share one write. A client that
/// assumes one frame per read fails against the simulator as it would against AWS.
struct ReplyStreamer {
    /// The write sizes, cycled. Small primes and one large size mix splits inside the 12-byte prelude,
    /// single bytes and multi-frame writes.
    static let pieceSizes = [7, 1, 13, 64, 3, 301]

    /// Thrown from the body writer to abort the connection mid-body, like a connection reset.
    struct SimulatedReset: Error {}

    private var pending = ByteBuffer()
    /// `WritePattern.frames`: each frame in a write of its own.
    private var wholeFrames = false
    private var sizeIndex = 0

    /// Writes `script` to `writer` and finishes the body, counting the stream in `state` while it runs,
    /// even when the client goes away or the script aborts.
    ///
    /// - Throws: ``SimulatedReset`` for a `reset` step; any error from the writer (client disconnect)
    ///   or from `Task.sleep` (cancellation).
    static func play(_ script: ReplyScript, state: SimulatorState, writes: WritePattern = .split, writer: inout any ResponseBodyWriter) async throws {
        var framesSent = 0
        var bytesSent = 0
        state.streamStarted()
        defer { state.streamEnded(frames: framesSent, bytes: bytesSent) }
        var streamer = ReplyStreamer()
        streamer.wholeFrames = writes == .frames
        for step in script.steps {
            switch step {
            case .frame(let frame):
                if framesSent > 0, script.frameDelay > .zero {
                    // Deliver the previous frame whole before pausing, so a client sees it on time.
                    try await streamer.flush(to: &writer)
                    try await Task.sleep(for: script.frameDelay)
                }
                streamer.pending.writeImmutableBuffer(frame)
                if streamer.wholeFrames {
                    try await writer.write(frame)
                    streamer.pending.clear()
                } else {
                    try await streamer.writeWholePieces(to: &writer)
                }
                framesSent += 1
                bytesSent += frame.readableBytes
            case .hold:
                try await streamer.flush(to: &writer)
                await state.waitForRelease()
            case .reset:
                try await streamer.flush(to: &writer)
                throw SimulatedReset()
            }
        }
        try await streamer.flush(to: &writer)
        try await writer.finish(nil)
    }

    private var nextSize: Int { Self.pieceSizes[self.sizeIndex % Self.pieceSizes.count] }

    /// Writes pieces while a whole piece of the next size is pending; the rest waits for the next frame.
    private mutating func writeWholePieces(to writer: inout any ResponseBodyWriter) async throws {
        while self.pending.readableBytes >= self.nextSize, let piece = self.pending.readSlice(length: self.nextSize) {
            self.sizeIndex += 1
            try await writer.write(piece)
        }
    }

    /// Writes everything pending, the last piece possibly short.
    private mutating func flush(to writer: inout any ResponseBodyWriter) async throws {
        try await self.writeWholePieces(to: &writer)
        if self.pending.readableBytes > 0, let rest = self.pending.readSlice(length: self.pending.readableBytes) {
            self.sizeIndex += 1
            try await writer.write(rest)
        }
        self.pending.discardReadBytes()
    }
}
