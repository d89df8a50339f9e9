import HTTPTypes
import Hummingbird
import NIOCore
import ProxyModels
import Translation

/// A client-facing failure and the shape it is rendered in (the dialect of the request's path).
package struct ProxyHTTPError: Error, HTTPResponseError {
    package var failure: ProxyFailure
    package var shape: any FailureShape
    package var requestID: String

    package init(_ failure: ProxyFailure, shape: any FailureShape, requestID: String) {
        self.failure = failure
        self.shape = shape
        self.requestID = requestID
    }

    /// The failure in the shape the request's context decided.
    package init(_ failure: ProxyFailure, context: ProxyRequestContext) {
        self.init(failure, shape: context.errorShape, requestID: context.requestID)
    }

    package var status: HTTPResponse.Status { .init(code: shape.status(of: failure)) }

    package func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers: HTTPFields = [.contentType: "application/json", HTTPField.Name("request-id")!: requestID]
        if let retryAfter = failure.retryAfter { headers[.retryAfter] = String(retryAfter) }
        // A 408 leaves the rest of the body unread: the connection cannot carry another request.
        if failure.kind == .timeout { headers[.connection] = "close" }
        let body = shape.body(of: failure, requestID: requestID)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body.jsonBytes)))
    }
}
