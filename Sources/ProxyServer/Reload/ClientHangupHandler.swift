import NIOCore

/// Closes a connection as soon as the client closes its side.
///
/// Hummingbird accepts half-closed connections, so a client that hangs up while its stream waits on a silent
/// upstream would only be noticed at the next keep-alive write, up to 15 seconds later, with the upstream request
/// (and an account slot) held all the while. Closing on the client's FIN completes the channel's `closeFuture`,
/// which cancels the exchange at once. HTTP clients do not half-close while expecting a reply.
final class ClientHangupHandler: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = NIOAny

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }
}
