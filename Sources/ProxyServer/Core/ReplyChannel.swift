import Synchronization
import Translation

/// The pump's messages on their way to the response writer.
///
/// A small bounded buffer rather than a rendezvous channel: the pump hands over a network read's events
/// and goes back to reading without waiting for the writer, and the writer takes everything that piled up
/// in one go, so a burst of upstream reads becomes one write to the client. Back-pressure still holds: the
/// pump waits once `capacity` messages are unread, so a client that reads slowly slows the upstream read
/// instead of growing memory. A keep-alive timer marks a `tick` here too, so the writer waits on one thing.
package final class ReplyChannel: Sendable {
    /// Messages the pump may run ahead of the writer. Each is one network read's worth of events.
    package static let defaultCapacity = 4

    /// What the writer gets from one wait: every unread message, and whether the keep-alive timer fired.
    package struct Batch: Sendable {
        package var messages: [PumpMessage]
        package var tick: Bool
    }

    private struct State {
        var buffer: [PumpMessage] = []
        var ticked = false
        /// The pump is done: no more messages.
        var finished = false
        /// The writer is gone: messages are dropped and the pump is told so.
        var closed = false
        /// The server ended the reply (``interrupt(_:)``): the pump's messages are dropped.
        var interrupted = false
        var consumer: CheckedContinuation<Void, Never>?
        var producer: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())
    private let capacity: Int

    package init(capacity: Int = ReplyChannel.defaultCapacity) {
        self.capacity = max(1, capacity)
    }

    // MARK: - The pump's side

    /// Hands `message` to the writer, waiting while `capacity` messages are unread.
    /// - Returns: false when the writer is gone or the waiting task was cancelled; the message is dropped.
    @discardableResult
    package func send(_ message: PumpMessage) async -> Bool {
        while true {
            let (sent, gone, consumer) = state.withLock { state -> (Bool, Bool, CheckedContinuation<Void, Never>?) in
                if state.closed || state.interrupted { return (false, true, nil) }
                guard state.buffer.count < capacity else { return (false, false, nil) }
                state.buffer.append(message)
                defer { state.consumer = nil }
                return (true, false, state.consumer)
            }
            consumer?.resume()
            if sent { return true }
            if gone || Task.isCancelled { return false }
            await waitForRoom()
        }
    }

    /// No more messages: the writer drains what is buffered, then its `drain()` returns nil.
    package func finish() {
        let consumer = state.withLock { state in
            state.finished = true
            defer { state.consumer = nil }
            return state.consumer
        }
        consumer?.resume()
    }

    /// The keep-alive timer fired. Only marks a tick when nothing is buffered (a write is due anyway).
    package func tick() {
        let consumer = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard state.buffer.isEmpty, !state.finished else { return nil }
            state.ticked = true
            defer { state.consumer = nil }
            return state.consumer
        }
        consumer?.resume()
    }

    private func waitForRoom() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = state.withLock { state -> Bool in
                    if state.closed || state.interrupted || state.buffer.count < capacity || Task.isCancelled { return true }
                    state.producer = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            let producer = state.withLock { state in
                defer { state.producer = nil }
                return state.producer
            }
            producer?.resume()
        }
    }

    // MARK: - The writer's side

    /// Everything unread (waiting while there is nothing); nil once the pump finished and all was taken,
    /// or when the calling task is cancelled.
    package func drain() async -> Batch? {
        await take(upTo: Int.max)
    }

    /// The next message (keep-alive ticks are skipped); nil at the end.
    package func next() async -> PumpMessage? {
        while let batch = await take(upTo: 1) {
            if let message = batch.messages.first { return message }
        }
        return nil
    }

    /// The writer is gone (or the client hung up): later `send`s return false at once, a pump waiting for room
    /// is woken, and so is a writer waiting for messages (it gets nil).
    package func close() {
        let (producer, consumer) = state.withLock { state in
            state.closed = true
            state.buffer.removeAll()
            return Self.takeWaiters(&state)
        }
        producer?.resume()
        consumer?.resume()
    }

    /// The pump and the writer waiting on `state`, if any, which the caller resumes once the lock is released.
    private static func takeWaiters(_ state: inout State) -> (CheckedContinuation<Void, Never>?, CheckedContinuation<Void, Never>?) {
        defer {
            state.producer = nil
            state.consumer = nil
        }
        return (state.producer, state.consumer)
    }

    /// The writer called `close()`.
    package var isClosed: Bool { state.withLock { $0.closed } }

    /// The server ends the reply (a shutdown whose drain time is up): what is unread is dropped, the writer gets
    /// `failed(error)` as the last message (its terminal error event), and the pump's later `send`s return false.
    /// Does nothing once the writer is gone.
    package func interrupt(_ error: ProxyFailure) {
        let (producer, consumer) = state.withLock { state -> (CheckedContinuation<Void, Never>?, CheckedContinuation<Void, Never>?) in
            guard !state.closed, !state.interrupted else { return (nil, nil) }
            state.interrupted = true
            state.buffer = [.failed(error)]
            state.finished = true
            return Self.takeWaiters(&state)
        }
        producer?.resume()
        consumer?.resume()
    }

    private func take(upTo limit: Int) async -> Batch? {
        while true {
            let (batch, finished, producer) = state.withLock { state -> (Batch?, Bool, CheckedContinuation<Void, Never>?) in
                guard !state.buffer.isEmpty || state.ticked else { return (nil, state.finished || state.closed, nil) }
                var messages: [PumpMessage]
                if limit >= state.buffer.count {
                    messages = []
                    swap(&messages, &state.buffer)
                } else {
                    messages = Array(state.buffer.prefix(limit))
                    state.buffer.removeFirst(limit)
                }
                let batch = Batch(messages: messages, tick: state.ticked)
                state.ticked = false
                defer { state.producer = nil }
                return (batch, false, state.producer)
            }
            producer?.resume()
            if let batch { return batch }
            if finished || Task.isCancelled { return nil }
            await waitForMessages()
        }
    }

    private func waitForMessages() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = state.withLock { state -> Bool in
                    if !state.buffer.isEmpty || state.ticked || state.finished || state.closed || Task.isCancelled { return true }
                    state.consumer = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            let consumer = state.withLock { state in
                defer { state.consumer = nil }
                return state.consumer
            }
            consumer?.resume()
        }
    }
}
