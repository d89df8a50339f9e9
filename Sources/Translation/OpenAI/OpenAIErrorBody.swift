import ProxyModels

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
            case 431: ("invalid_request_error", "request_header_fields_too_large")
            case 429: ("rate_limit_error", "rate_limit_exceeded")
            case 529, 503: ("server_error", "overloaded")
            default: ("server_error", nil)
            }
        return ["error": ["message": .string(error.message), "type": .string(type), "param": nil, "code": code.map(JSONValue.string) ?? .null]]
    }
}
