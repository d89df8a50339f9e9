/// A client request that cannot be served as sent: a 400 in the client's dialect.
///
/// `field` is the dotted path of the offending member (`messages.2.content.0.source`), so the
/// client sees exactly what to fix.
package struct RequestError: Error, Sendable, Equatable, CustomStringConvertible {
    package enum Kind: Sendable, Equatable {
        /// Malformed or unsupported input (400 `invalid_request_error`).
        case invalid
        /// The prompt is over the context limit (400, with Claude's "prompt is too long" wording).
        case promptTooLong(tokens: Int, maximum: Int)
        /// The model name is not served (404 `not_found_error`).
        case unknownModel
    }

    package var kind: Kind
    package var field: String?
    package var message: String

    package init(_ kind: Kind = .invalid, field: String? = nil, message: String) {
        self.kind = kind
        self.field = field
        self.message = message
    }

    package static func invalid(_ field: String, _ message: String) -> RequestError {
        RequestError(.invalid, field: field, message: message)
    }

    package static func promptTooLong(tokens: Int, maximum: Int) -> RequestError {
        RequestError(
            .promptTooLong(tokens: tokens, maximum: maximum), message: "prompt is too long: \(tokens) tokens > \(maximum) maximum")
    }

    package var description: String {
        if let field { return "\(field): \(message)" }
        return message
    }
}
