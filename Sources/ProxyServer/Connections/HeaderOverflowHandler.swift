import NIOCore
import NIOHTTP1
import ProxyModels
import Translation

/// Answers a request whose header block is too large (more than the HTTP decoder's 80 KiB) with a 431 in the
/// dialect's shape, instead of the bare 400 Hummingbird writes for every HTTP parse error.
///
/// The decoder reports the overflow as `HTTPParserError.headerOverflow` through `errorCaught`, before any part of
/// the request reached the application, so this handler (after the HTTP codec) catches it there and does not pass
/// it on. The path that picks the dialect was never decoded, so ``RequestLineSniffer`` (added in front of the
/// decoder) notes the request target of each read that starts with a request line. The 431 is written as raw
/// bytes through that front handler, since the HTTP encoder behind this one only takes response parts of the
/// application's own type; then the connection closes (the rest of the header block is never read).
final class HeaderOverflowHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    private let sniffer = RequestLineSniffer()

    func handlerAdded(context: ChannelHandlerContext) {
        try? context.pipeline.syncOperations.addHandler(sniffer, position: .first)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError, parserError == .headerOverflow, let front = sniffer.context else {
            context.fireErrorCaught(error)
            return
        }
        let response = Self.response(path: sniffer.path)
        let channel = context.channel
        front.writeAndFlush(NIOAny(response)).whenComplete { _ in channel.close(promise: nil) }
    }

    /// The whole 431 response for a request to `path` (nil: not known).
    static func response(path: String?) -> ByteBuffer {
        let requestID = RequestReading.newID("req_")
        let message = "the request's header block is larger than 80 KiB"
        let path = path ?? ""
        let body: JSONValue
        if path == "/v2" || path.hasPrefix("/v2/") {
            body = ["error": ["type": "request_header_fields_too_large", "message": .string(message)]]
        } else {
            body = RequestIDMiddleware.dialect(ofPath: path).shape.body(of: .init(.headersTooLarge, message), requestID: requestID)
        }
        let bytes = body.jsonBytes
        var buffer = ByteBuffer()
        buffer.writeString(
            "HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: application/json\r\ncontent-length: \(bytes.count)\r\n"
                + "connection: close\r\nrequest-id: \(requestID)\r\n\r\n")
        buffer.writeBytes(bytes)
        return buffer
    }
}

/// Notes the request target of each read that starts with a request line (`METHOD /path HTTP/1.1`), in front of
/// the HTTP decoder, for ``HeaderOverflowHandler``; passes every byte on untouched.
final class RequestLineSniffer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private(set) var context: ChannelHandlerContext?
    private(set) var path: String?

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        if let target = Self.requestTarget(buffer) { path = target }
        context.fireChannelRead(data)
    }

    /// `/path` of `METHOD /path?query HTTP/1.1` at the start of `buffer`, else nil.
    static func requestTarget(_ buffer: ByteBuffer) -> String? {
        let view = buffer.readableBytesView.prefix(2048)
        guard let space = view.firstIndex(of: UInt8(ascii: " ")), space > view.startIndex, space - view.startIndex <= 16,
            view[view.startIndex..<space].allSatisfy({ (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) })
        else { return nil }
        let rest = view[(space + 1)...]
        guard rest.first == UInt8(ascii: "/") else { return nil }
        let end = rest.firstIndex { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "\r") } ?? rest.endIndex
        return String(decoding: rest[rest.startIndex..<end], as: UTF8.self)
    }
}
