import Hummingbird
import NIOCore

/// Reads a whole request body with a size limit and a deadline.
///
/// Hummingbird's idle timer restarts on every byte, so a client that sends its body one byte at a time (or
/// stops halfway) would hold a connection, a task and its buffer forever. The deadline (`limits.body_timeout`)
/// turns that into a 408; the connection is closed after it (`connection: close`), since the rest of the body
/// will never be read, and for good once the reply is out even if the client keeps trickling.
enum BodyCollection {
    enum Failure: Error {
        case tooLarge
        case timedOut
    }

    static func collect(_ request: Request, upTo limit: Int, within timeout: Duration, connection: (any Channel)?) async throws(Failure) -> ByteBuffer {
        do {
            return try await withThrowingTaskGroup(of: ByteBuffer.self) { group in
                group.addTask {
                    var request = request
                    do {
                        return try await request.collectBody(upTo: limit)
                    } catch is CancellationError {
                        throw Failure.timedOut
                    } catch {
                        throw Task.isCancelled ? Failure.timedOut : Failure.tooLarge
                    }
                }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    // If the body stream does not end on cancellation, the closed connection ends it.
                    if let connection {
                        connection.eventLoop.scheduleTask(in: .seconds(2)) { connection.close(promise: nil) }
                    }
                    throw Failure.timedOut
                }
                defer { group.cancelAll() }
                guard let body = try await group.next() else { throw Failure.timedOut }
                return body
            }
        } catch let failure as Failure {
            throw failure
        } catch {
            throw .tooLarge
        }
    }

    /// The 408 a late body gets, in the dialect's shape (see ``ProxyHTTPError``).
    static let timeoutMessage = "the request body did not arrive within limits.body_timeout"
}
