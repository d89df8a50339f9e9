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

    package var status: HTTPResponse.Status { .init(code: claude.status) }

    package func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers: HTTPFields = [.contentType: "application/json", HTTPField.Name("request-id")!: requestID]
        if let retryAfter = claude.retryAfter { headers[.retryAfter] = String(retryAfter) }
        let body: JSONValue
        switch dialect {
        case .claude: body = claude.body(requestID: requestID)
        case .openAI: body = OpenAIErrorBody.body(for: claude)
        }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body.jsonBytes)))
    }
}

/// OpenAI's error envelope for the same failures.
package enum OpenAIErrorBody {
    package static func body(for error: ClaudeError) -> JSONValue {
        let (type, code): (String, String?) =
            switch error.status {
            case 400: ("invalid_request_error", nil)
            case 401: ("invalid_request_error", "invalid_api_key")
            case 403: ("permission_error", nil)
            case 404: ("invalid_request_error", "model_not_found")
            case 413: ("invalid_request_error", "request_too_large")
            case 429: ("rate_limit_error", "rate_limit_exceeded")
            case 529, 503: ("server_error", "overloaded")
            default: ("server_error", nil)
            }
        return ["error": ["message": .string(error.message), "type": .string(type), "param": nil, "code": code.map(JSONValue.string) ?? .null]]
    }
}
