import ProxyModels

/// Why a request failed, in no API's words: the pump, the stream framing and the HTTP errors carry this, and
/// each dialect renders it in its own shape and status (``FailureShape``).
///
/// The kinds are closed on purpose: a dialect must decide how every one of them looks, so a new kind is a
/// compile error in every dialect rather than a silent default.
package struct ProxyFailure: Error, Sendable, Equatable, CustomStringConvertible {
    package enum Kind: String, Sendable, Equatable, CaseIterable {
        /// The request cannot be served as sent (400).
        case invalidRequest = "invalid_request"
        /// No or a wrong API key (401).
        case authentication
        /// The key is valid but may not do this (403).
        case permission
        /// No such route or stored object (404).
        case notFound = "not_found"
        /// The model is not served (404).
        case unknownModel = "unknown_model"
        /// A known path asked with a method it does not take (405).
        case methodNotAllowed = "method_not_allowed"
        /// The body did not arrive in time (408).
        case timeout
        /// The body is over the size limit (413).
        case requestTooLarge = "request_too_large"
        /// The request headers are over the size limit (431).
        case headersTooLarge = "headers_too_large"
        /// Throttled: every account is cooling down, or the upstream said so (429).
        case rateLimited = "rate_limited"
        /// Something went wrong in the proxy or the upstream (500).
        case internalError = "internal_error"
        /// The model's reply is not what was asked for (a structured output that breaks its schema; 502).
        case badReply = "bad_reply"
        /// No account can serve now (529 for Claude, 503 for OpenAI).
        case overloaded
    }

    package var kind: Kind
    package var message: String
    /// Seconds for the `retry-after` header.
    package var retryAfter: Int?
    /// The dotted path of the request member at fault (`messages.2.content.0.source`), for a bad request.
    package var field: String?

    package init(_ kind: Kind, _ message: String, retryAfter: Int? = nil, field: String? = nil) {
        self.kind = kind
        self.message = message
        self.retryAfter = retryAfter
        self.field = field
    }

    package var description: String { "\(kind.rawValue): \(message)" }

    package static func invalidRequest(_ message: String, field: String? = nil) -> ProxyFailure { .init(.invalidRequest, message, field: field) }
    package static func authentication(_ message: String) -> ProxyFailure { .init(.authentication, message) }
    package static func permission(_ message: String) -> ProxyFailure { .init(.permission, message) }
    package static func notFound(_ message: String) -> ProxyFailure { .init(.notFound, message) }
    package static func unknownModel(_ message: String) -> ProxyFailure { .init(.unknownModel, message) }
    package static func requestTooLarge(_ message: String) -> ProxyFailure { .init(.requestTooLarge, message) }
    package static func rateLimited(_ message: String, retryAfter: Int?) -> ProxyFailure { .init(.rateLimited, message, retryAfter: retryAfter) }
    package static func internalError(_ message: String) -> ProxyFailure { .init(.internalError, message) }
    package static func overloaded(_ message: String) -> ProxyFailure { .init(.overloaded, message) }
    /// A structured-output reply that does not follow its schema: the model failed, not the client (502, retried by the SDKs).
    package static func schemaViolation(_ violation: StructuredOutputViolation) -> ProxyFailure {
        .init(.badReply, "the model's reply does not follow the requested JSON schema: \(violation.message)")
    }

    /// A request a decoder refused: a 400 naming the member (a 404 for a model that is not served).
    package init(requestError: RequestError) {
        switch requestError.kind {
        case .invalid, .promptTooLong: self.init(.invalidRequest, requestError.description, field: requestError.field)
        case .unknownModel: self.init(.unknownModel, requestError.description, field: requestError.field)
        }
    }

    /// The client-facing failure for an upstream failure (AMAZON_Q.md §6 → CLIENTS.md "Errors").
    package init(upstream failure: QUpstreamFailure) {
        switch failure.kind {
        case .contextTooLong:
            // Claude Code compacts the conversation on exactly this wording.
            self.init(.invalidRequest, "prompt is too long: the upstream reported: \(failure.message)")
        case .throttled, .quotaExhausted:
            self.init(.rateLimited, failure.message, retryAfter: failure.retryAfter ?? 10)
        case .overloaded:
            self.init(.overloaded, failure.message)
        case .invalidModel:
            self.init(.unknownModel, "model not available upstream: \(failure.message)")
        case .badRequest:
            self.init(.invalidRequest, "the upstream rejected the request: \(failure.message)")
        case .authExpired, .suspended:
            self.init(.overloaded, "no upstream account could serve the request: \(failure.message)")
        case .transient:
            self.init(.internalError, "upstream error: \(failure.message)")
        }
    }
}
