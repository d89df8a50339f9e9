import HTTPTypes
import Hummingbird
import NIOCore
import ProxyModels
import Translation

/// A client-facing error that renders itself in the request's dialect.
package struct ProxyHTTPError: Error, HTTPResponseError {
    package var claude: ClaudeError
    package var dialect: Dialect
    package var requestID: String

    package init(_ claude: ClaudeError, dialect: Dialect, requestID: String) {
        self.claude = claude
        self.dialect = dialect
        self.requestID = requestID
    }

    /// OpenAI has no 529: its clients know an overloaded server as 503.
    package var status: HTTPResponse.Status {
        .init(code: dialect == .openAI && claude.status == 529 ? 503 : claude.status)
    }

    package func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers: HTTPFields = [.contentType: "application/json", HTTPField.Name("request-id")!: requestID]
        if let retryAfter = claude.retryAfter { headers[.retryAfter] = String(retryAfter) }
        // A 408 leaves the rest of the body unread: the connection cannot carry another request.
        if claude.status == 408 { headers[.connection] = "close" }
        let body: JSONValue
        switch dialect {
        case .claude: body = claude.body(requestID: requestID)
        case .openAI: body = OpenAIErrorBody.body(for: claude)
        }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body.jsonBytes)))
    }
}
