import NIOCore
import Synchronization

/// What to do when a client's connection goes away, by connection: a stream registers the cancellation of
/// its upstream exchange for as long as it runs, and `ClientHangupHandler` runs it when the client hangs up.
///
/// Not a callback on the channel's `closeFuture`: those cannot be removed, so on a keep-alive connection
/// every finished stream would leave one behind until the connection closes. Here an entry lives exactly
/// as long as its stream.
///
/// One per server (``ProxyRuntime/hangups``), handed to each connection's ``ClientHangupHandler``.
package final class ConnectionHangups: Sendable {
    package init() {}

    package struct Registration: Sendable {
        fileprivate let connection: ObjectIdentifier
        fileprivate let token: UInt64
    }

    private let actions = Mutex<[ObjectIdentifier: [UInt64: @Sendable () -> Void]]>([:])
    private let tokens = Atomic<UInt64>(0)

    /// Runs `action` once when `channel` closes or its client half-closes, before `cancel(_:)`; at once
    /// when the channel is closed already.
    package func onHangup(of channel: any Channel, _ action: @escaping @Sendable () -> Void) -> Registration {
        let connection = ObjectIdentifier(channel)
        let token = tokens.wrappingAdd(1, ordering: .relaxed).newValue
        actions.withLock { $0[connection, default: [:]][token] = action }
        if !channel.isActive { hungUp(channel) }
        return Registration(connection: connection, token: token)
    }

    /// The stream ended: forget its action.
    package func cancel(_ registration: Registration) {
        actions.withLock { actions in
            actions[registration.connection]?[registration.token] = nil
            if actions[registration.connection]?.isEmpty == true { actions[registration.connection] = nil }
        }
    }

    /// The client closed its side or the connection went away: runs and forgets the connection's actions.
    func hungUp(_ channel: any Channel) {
        let pending = actions.withLock { $0.removeValue(forKey: ObjectIdentifier(channel)) }
        pending?.values.forEach { $0() }
    }

    /// Connections with a registered action (for tests: zero once every stream ended).
    package var registeredConnections: Int { actions.withLock { $0.count } }
}
