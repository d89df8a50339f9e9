import ProxyModels

/// OpenAI's error shape, shared by Chat Completions and Responses:
/// `{"error":{"message":…,"type":…,"param":…,"code":…}}`. OpenAI has no 529: its clients know an overloaded
/// server as 503.
package struct OpenAIFailureShape: FailureShape {
    package init() {}

    package func status(of failure: ProxyFailure) -> Int {
        failure.kind == .overloaded ? 503 : ClaudeFailureShape().status(of: failure)
    }

    /// The `error` object (also the payload of a failed stream's last event).
    package func error(of failure: ProxyFailure) -> JSONValue {
        let (type, code): (String, String?) =
            switch failure.kind {
            case .invalidRequest: ("invalid_request_error", nil)
            case .authentication: ("invalid_request_error", "invalid_api_key")
            case .permission: ("permission_error", nil)
            case .notFound: ("invalid_request_error", "not_found")
            case .unknownModel: ("invalid_request_error", "model_not_found")
            case .methodNotAllowed: ("invalid_request_error", "method_not_allowed")
            case .timeout: ("invalid_request_error", "timeout")
            case .requestTooLarge: ("invalid_request_error", "request_too_large")
            case .headersTooLarge: ("invalid_request_error", "request_header_fields_too_large")
            case .rateLimited: ("rate_limit_error", "rate_limit_exceeded")
            case .internalError: ("server_error", nil)
            case .badReply: ("server_error", "invalid_model_output")
            case .overloaded: ("server_error", "overloaded")
            }
        return [
            "message": .string(failure.message), "type": .string(type), "param": failure.field.map(JSONValue.string) ?? .null,
            "code": code.map(JSONValue.string) ?? .null,
        ]
    }

    package func body(of failure: ProxyFailure, requestID: String?) -> JSONValue {
        ["error": error(of: failure)]
    }
}
