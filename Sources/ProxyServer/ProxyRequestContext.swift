import Hummingbird
import Logging
import NIOCore

/// Per-request state filled in by middleware.
package struct ProxyRequestContext: RequestContext {
    package var coreContext: CoreRequestContextStorage
    /// `req_…`, returned as `request-id` and in error bodies.
    package var requestID: String = ""
    /// Which API the request speaks, so errors render in its shape.
    package var dialect: Dialect = .claude
    /// Filled by controllers for the access log.
    package var accessLog = AccessLogFields()

    package init(source: Source) {
        self.coreContext = .init(source: source)
    }

    /// Bodies are bounded by `limits.max_body`, checked by the controllers with their own error shape.
    package var maxUploadSize: Int { Int.max }
}

package enum Dialect: String, Sendable {
    case claude
    case openAI = "openai"
}

package struct AccessLogFields: Sendable {
    package var model: String?
    package var account: String?
    package var inputTokens: Int?
    package var stream: Bool?

    package init() {}
}
