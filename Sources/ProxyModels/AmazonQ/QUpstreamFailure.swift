/// An error the upstream reported, before or during a stream, classified by what q2api must do.
///
/// Classification follows AMAZON_Q.md §6: by name, reason and message first, by status last.
package struct QUpstreamFailure: Error, Sendable, Equatable, CustomStringConvertible {
    package enum Kind: String, Sendable, Equatable {
        /// The access token is expired or invalid: refresh and retry once.
        case authExpired = "auth_expired"
        /// The account is suspended: disable it, fail over.
        case suspended
        /// The monthly quota is used up: park the account until it resets, fail over.
        case quotaExhausted = "quota_exhausted"
        /// Throttled: cool the account down, fail over.
        case throttled
        /// The model is overloaded: fail over, 529 when nothing is left.
        case overloaded
        /// The prompt is over the upstream's context limit.
        case contextTooLong = "context_too_long"
        /// The upstream does not serve this model id.
        case invalidModel = "invalid_model"
        /// The request was rejected as malformed: never retried.
        case badRequest = "bad_request"
        /// Anything else (5xx, unknown): retried on another account.
        case transient
    }

    package var kind: Kind
    /// The HTTP status, or nil for an in-stream error frame.
    package var status: Int?
    /// The error name with any namespace removed (`ThrottlingException`).
    package var name: String
    package var reason: String?
    package var message: String
    /// Seconds the upstream asked us to wait, when it said.
    package var retryAfter: Int?

    package init(kind: Kind, status: Int?, name: String, reason: String?, message: String, retryAfter: Int? = nil) {
        self.kind = kind
        self.status = status
        self.name = name
        self.reason = reason
        self.message = message
        self.retryAfter = retryAfter
    }

    package var description: String {
        var text = "\(name)"
        if let reason { text += " (\(reason))" }
        if let status { text += " HTTP \(status)" }
        return text + ": \(message)"
    }

    /// Whether another account may succeed where this one failed.
    package var allowsFailover: Bool {
        switch kind {
        // Accounts differ in the models they may use (Builder ID, Identity Center, Kiro tiers).
        case .authExpired, .suspended, .quotaExhausted, .throttled, .overloaded, .transient, .invalidModel: true
        case .contextTooLong, .badRequest: false
        }
    }

    /// Classifies an error from its parts.
    package static func classify(status: Int?, name rawName: String?, reason: String?, message: String, retryAfter: Int? = nil) -> QUpstreamFailure {
        var name = rawName ?? ""
        if let hash = name.lastIndex(of: "#") { name = String(name[name.index(after: hash)...]) }
        if let colon = name.firstIndex(of: ":") { name = String(name[..<colon]) }
        let base = name.replacingSuffix("Exception", with: "").replacingSuffix("Error", with: "")
        let lowerMessage = message.lowercased()
        let reason = reason.flatMap { $0.isEmpty ? nil : $0 }
        let kind: Kind
        if message.contains("Input is too long") || reason == "CONTENT_LENGTH_EXCEEDS_THRESHOLD" {
            kind = .contextTooLong
        } else if reason == "TEMPORARILY_SUSPENDED" || lowerMessage.contains("suspended") {
            kind = .suspended
        } else if reason == "MONTHLY_REQUEST_COUNT" || reason == "OVERAGE_REQUEST_LIMIT_EXCEEDED" || base == "ServiceQuotaExceeded" {
            kind = .quotaExhausted
        } else if reason == "INVALID_MODEL_ID" {
            kind = .invalidModel
        } else if reason == "INSUFFICIENT_MODEL_CAPACITY" || reason == "MODEL_TEMPORARILY_UNAVAILABLE" || lowerMessage.contains("high load")
            || lowerMessage.contains("high traffic") || base == "ServiceUnavailable"
        {
            kind = .overloaded
        } else if base == "Throttling" || status == 429 {
            kind = .throttled
        } else if (base == "AccessDenied" || status == 401 || status == 403)
            && (lowerMessage.contains("bearer token") || lowerMessage.contains("token") || status == 401)
        {
            kind = .authExpired
        } else if base == "Validation" || status == 400 || base == "ResourceNotFound" || base == "Conflict" {
            kind = .badRequest
        } else if base == "AccessDenied" {
            kind = .badRequest
        } else {
            kind = .transient
        }
        return QUpstreamFailure(
            kind: kind, status: status, name: name.isEmpty ? (status.map { "HTTP\($0)" } ?? "error") : name, reason: reason,
            message: message.isEmpty ? "the upstream reported an error" : message, retryAfter: retryAfter)
    }

    /// Classifies an HTTP error response body (AWS JSON 1.0 error shape).
    package static func fromHTTP(status: Int, body: [UInt8], errorTypeHeader: String?, retryAfter: Int?) -> QUpstreamFailure {
        let json = try? JSONParser.parse(body)
        let name = json?["__type"]?.stringValue ?? errorTypeHeader
        let message =
            json?["message"]?.stringValue ?? json?["Message"]?.stringValue
            ?? String(decoding: body.prefix(500), as: UTF8.self)
        return classify(status: status, name: name, reason: json?["reason"]?.stringValue, message: message, retryAfter: retryAfter)
    }
}

extension String {
    fileprivate func replacingSuffix(_ suffix: String, with replacement: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) + replacement : self
    }
}
