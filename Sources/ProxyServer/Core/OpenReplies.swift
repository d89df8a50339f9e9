import Synchronization
import Translation

/// The replies being written now (streams and whole replies), so a shutdown whose drain time is up can end each
/// with the dialect's terminal error instead of cutting the connection mid-stream.
package final class OpenReplies: Sendable {
    private struct State {
        var channels: [ObjectIdentifier: ReplyChannel] = [:]
        /// Set once the server ends every reply: replies that start later are ended at once.
        var interruption: ProxyFailure?
    }

    private let state = Mutex(State())

    package init() {}

    /// Tracks `channel` until ``remove(_:)``; ends it at once when the server already ended every reply.
    func add(_ channel: ReplyChannel) {
        let interruption = state.withLock { state -> ProxyFailure? in
            if let interruption = state.interruption { return interruption }
            state.channels[ObjectIdentifier(channel)] = channel
            return nil
        }
        if let interruption { channel.interrupt(interruption) }
    }

    func remove(_ channel: ReplyChannel) {
        _ = state.withLock { $0.channels.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    package var count: Int { state.withLock { $0.channels.count } }

    /// Ends every open reply with `error` (a stream gets it as its last event, a whole reply as its response),
    /// and every reply that starts from now on.
    /// - Returns: how many replies were open.
    @discardableResult
    package func interruptAll(_ error: ProxyFailure) -> Int {
        let channels = state.withLock { state -> [ReplyChannel] in
            state.interruption = error
            defer { state.channels.removeAll() }
            return Array(state.channels.values)
        }
        for channel in channels { channel.interrupt(error) }
        return channels.count
    }
}
