import HTTPTypes
import Hummingbird
import NIOCore
import ProxyModels

/// An error of the admin API: `{"error": {"type": ..., "message": ...}}` with its status.
package struct AdminError: Error, HTTPResponseError, Sendable {
    package var status: HTTPResponse.Status
    package var type: String
    package var message: String

    package init(_ status: HTTPResponse.Status, _ type: String, _ message: String) {
        self.status = status
        self.type = type
        self.message = message
    }

    static func notFound(_ message: String) -> AdminError { AdminError(.notFound, "not_found", message) }
    static func invalid(_ message: String) -> AdminError { AdminError(.badRequest, "invalid_request", message) }
    static func conflict(_ message: String) -> AdminError { AdminError(.conflict, "conflict", message) }

    package func response(from request: Request, context: some RequestContext) throws -> Response {
        let body: JSONValue = ["error": ["type": .string(type), "message": .string(message)]]
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: body.jsonBytes)))
    }
}
