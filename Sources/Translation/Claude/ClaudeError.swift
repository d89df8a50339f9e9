import ProxyModels

/// An error in the Claude Messages API's own shape and status.
package struct ClaudeError: Error, Sendable, Equatable {
    /// Claude's error type (`invalid_request_error`, `rate_limit_error`, …).
    package var type: String
    package var status: Int
    package var message: String
    /// Seconds for the `retry-after` header.
    package var retryAfter: Int?

    package init(type: String, status: Int, message: String, retryAfter: Int? = nil) {
        self.type = type
        self.status = status
        self.message = message
        self.retryAfter = retryAfter
    }

    package static func invalidRequest(_ message: String) -> ClaudeError { .init(type: "invalid_request_error", status: 400, message: message) }
    package static func authentication(_ message: String) -> ClaudeError { .init(type: "authentication_error", status: 401, message: message) }
    package static func permission(_ message: String) -> ClaudeError { .init(type: "permission_error", status: 403, message: message) }
    package static func notFound(_ message: String) -> ClaudeError { .init(type: "not_found_error", status: 404, message: message) }
    package static func requestTooLarge(_ message: String) -> ClaudeError { .init(type: "request_too_large", status: 413, message: message) }
    package static func rateLimited(_ message: String, retryAfter: Int?) -> ClaudeError {
        .init(type: "rate_limit_error", status: 429, message: message, retryAfter: retryAfter)
    }
    package static func api(_ message: String) -> ClaudeError { .init(type: "api_error", status: 500, message: message) }
    package static func overloaded(_ message: String) -> ClaudeError { .init(type: "overloaded_error", status: 529, message: message) }
    /// A structured-output reply that does not follow its schema: the model failed, not the client (502, retried by the SDKs).
    package static func schemaViolation(_ violation: StructuredOutputViolation) -> ClaudeError {
        .init(type: "api_error", status: 502, message: "the model's reply does not follow the requested JSON schema: \(violation.message)")
    }

    package init(requestError: RequestError) {
        switch requestError.kind {
        case .invalid, .promptTooLong: self = .invalidRequest(requestError.description)
        case .unknownModel: self = .notFound(requestError.description)
        }
    }

    /// The client-facing error for an upstream failure (AMAZON_Q.md §6 → CLIENTS.md "Errors").
    package init(failure: QUpstreamFailure) {
        switch failure.kind {
        case .contextTooLong:
            // Claude Code compacts the conversation on exactly this wording.
            self = .invalidRequest("prompt is too long: the upstream reported: \(failure.message)")
        case .throttled, .quotaExhausted:
            self = .rateLimited(failure.message, retryAfter: failure.retryAfter ?? 10)
        case .overloaded:
            self = .overloaded(failure.message)
        case .invalidModel:
            self = .notFound("model not available upstream: \(failure.message)")
        case .badRequest:
            self = .invalidRequest("the upstream rejected the request: \(failure.message)")
        case .authExpired, .suspended:
            self = .overloaded("no upstream account could serve the request: \(failure.message)")
        case .transient:
            self = .api("upstream error: \(failure.message)")
        }
    }

    package func body(requestID: String?) -> JSONValue {
        var body: JSONValue = ["type": "error", "error": ["type": .string(type), "message": .string(message)]]
        if let requestID { body = body.setting("request_id", to: .string(requestID)) }
        return body
    }
}
