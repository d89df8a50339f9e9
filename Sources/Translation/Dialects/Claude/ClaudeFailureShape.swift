import ProxyModels

/// Claude's error shape: `{"type":"error","error":{"type":…,"message":…},"request_id":…}` with Anthropic's statuses
/// (529 for an overloaded service).
package struct ClaudeFailureShape: FailureShape {
    package init() {}

    package func status(of failure: ProxyFailure) -> Int {
        switch failure.kind {
        case .invalidRequest: 400
        case .authentication: 401
        case .permission: 403
        case .notFound, .unknownModel: 404
        case .methodNotAllowed: 405
        case .timeout: 408
        case .requestTooLarge: 413
        case .rateLimited: 429
        case .headersTooLarge: 431
        case .internalError: 500
        case .badReply: 502
        case .overloaded: 529
        }
    }

    /// Claude's error `type` for a failure.
    package func type(of failure: ProxyFailure) -> String {
        switch failure.kind {
        case .invalidRequest, .methodNotAllowed, .headersTooLarge: "invalid_request_error"
        case .authentication: "authentication_error"
        case .permission: "permission_error"
        case .notFound, .unknownModel: "not_found_error"
        case .timeout: "timeout_error"
        case .requestTooLarge: "request_too_large"
        case .rateLimited: "rate_limit_error"
        case .internalError, .badReply: "api_error"
        case .overloaded: "overloaded_error"
        }
    }

    package func body(of failure: ProxyFailure, requestID: String?) -> JSONValue {
        var body: JSONValue = ["type": "error", "error": ["type": .string(type(of: failure)), "message": .string(failure.message)]]
        if let requestID { body = body.setting("request_id", to: .string(requestID)) }
        return body
    }
}
