import Hummingbird
import NIOCore
import Synchronization

/// Reads a whole request body with a size limit and a deadline.
///
/// Hummingbird's idle timer restarts on every byte, so a client that sends its body one byte at a time (or
/// stops halfway) would hold a connection, a task and its buffer forever. The deadline (`limits.body_timeout`)
/// turns that into a 408; the connection is closed after it (`connection: close`), since the rest of the body
/// will never be read, and for good shortly after even if the client keeps trickling.
///
/// The deadline is a timer on the connection's event loop, cancelled (and freed) as soon as the body is in:
/// a `Task.sleep` per request stays scheduled until its deadline even when cancelled, and at a few hundred
/// requests a second a minute's worth of them showed as a steady climb in memory.
enum BodyCollection {
    enum Failure: Error {
        case tooLarge
        case timedOut
    }

    static func collect(_ request: Request, upTo limit: Int, within timeout: Duration, connection: any Channel) async throws(Failure) -> ByteBuffer {
        let collecting = Task {
            var request = request
            return try await request.collectBody(upTo: limit)
        }
        // Who came first, the body or the deadline: decided once, so a body that completes as the timer fires is
        // either served (and the connection left alone) or refused with the 408, never both.
        let outcome = Atomic<Int>(Outcome.pending)
        let timer = connection.eventLoop.scheduleTask(in: TimeAmount(timeout)) {
            guard outcome.compareExchange(expected: Outcome.pending, desired: Outcome.timedOut, ordering: .relaxed).exchanged else { return }
            collecting.cancel()
            // If the body stream does not end on cancellation, the closed connection ends it.
            connection.eventLoop.scheduleTask(in: .seconds(2)) { connection.close(promise: nil) }
        }
        defer { timer.cancel() }
        let body: ByteBuffer
        do {
            body = try await withTaskCancellationHandler {
                try await collecting.value
            } onCancel: {
                collecting.cancel()
            }
        } catch {
            let won = outcome.compareExchange(expected: Outcome.pending, desired: Outcome.done, ordering: .relaxed).exchanged
            throw won ? .tooLarge : .timedOut
        }
        guard outcome.compareExchange(expected: Outcome.pending, desired: Outcome.done, ordering: .relaxed).exchanged else { throw .timedOut }
        return body
    }

    private enum Outcome {
        static let pending = 0
        static let done = 1
        static let timedOut = 2
    }

    /// The 408 a late body gets, in the dialect's shape (see ``ProxyHTTPError``).
    static let timeoutMessage = "the request body did not arrive within limits.body_timeout"
}
