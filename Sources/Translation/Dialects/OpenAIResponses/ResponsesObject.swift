import ProxyModels

/// The `response` object: in the stream's lifecycle events, as the whole-reply body, and as stored.
enum ResponsesObject {
    enum Status: String {
        case inProgress = "in_progress"
        case completed
        case incomplete
        case failed
    }

    static func make(
        _ request: ResponsesRequest, header: ReplyHeader, status: Status, output: [JSONValue], usage: JSONValue = .null,
        error: JSONValue = .null
    ) -> JSONValue {
        var members: [JSONMember] = [
            JSONMember("id", .string(header.id)), JSONMember("object", "response"), JSONMember("created_at", .int(header.created)),
            JSONMember("status", .string(status.rawValue)), JSONMember("background", false), JSONMember("error", error),
            JSONMember("incomplete_details", status == .incomplete ? ["reason": "max_output_tokens"] : .null),
            JSONMember("model", .string(header.model)), JSONMember("output", .array(output)),
        ]
        members += request.echo
        members.append(JSONMember("usage", usage))
        return .object(members)
    }

    /// OpenAI counts cached tokens inside `input_tokens` and reasoning inside `output_tokens`, and details both.
    static func usage(_ usage: ReplyUsage, reasoningTokens: Int) -> JSONValue {
        let input = usage.inputTokens + usage.cacheReadInputTokens + usage.cacheCreationInputTokens
        return [
            "input_tokens": .int(input), "input_tokens_details": ["cached_tokens": .int(usage.cacheReadInputTokens)],
            "output_tokens": .int(usage.outputTokens),
            "output_tokens_details": ["reasoning_tokens": .int(min(reasoningTokens, usage.outputTokens))],
            "total_tokens": .int(input + usage.outputTokens),
        ]
    }

    /// A failed response's `error`: OpenAI's codes, the ones Codex decides on (retry after a rate limit, stop on
    /// a prompt that is too long).
    static func error(_ failure: ProxyFailure) -> JSONValue {
        let code: String =
            switch failure.kind {
            case .rateLimited: "rate_limit_exceeded"
            case .invalidRequest where failure.message.hasPrefix("prompt is too long"): "context_length_exceeded"
            case .invalidRequest: "invalid_prompt"
            default: "server_error"
            }
        var message = failure.message
        if let seconds = failure.retryAfter, failure.kind == .rateLimited {
            message += (message.hasSuffix(".") ? "" : ".") + " Please try again in \(seconds)s."
        }
        return ["code": .string(code), "message": .string(message)]
    }
}
