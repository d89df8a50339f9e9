import NIOCore

/// Closes a connection as soon as the client closes its side.
///
/// Hummingbird accepts half-closed connections, so a client that hangs up while its stream waits on a silent
/// upstream would only be noticed at the next keep-alive write, up to 15 seconds later, with the upstream request
/// (and an account slot) held all the while. On the client's FIN (or any close) it runs the connection's
/// ``ConnectionHangups`` actions, which cancel the exchange at once, and closes the connection. HTTP clients do not half-close while expecting a reply.
final class ClientHangupHandler: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = NIOAny

    private let hangups: ConnectionHangups

    init(hangups: ConnectionHangups) {
        self.hangups = hangups
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event {
            hangups.hungUp(context.channel)
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        hangups.hungUp(context.channel)
        context.fireChannelInactive()
    }
}
