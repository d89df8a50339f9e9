import Hummingbird
import NIOCore
import ProxyModels

/// An error reply of the Q endpoint, in the AWS JSON 1.0 shape the real service uses
/// (`{"__type": ..., "message": ..., "reason": ...}`, AMAZON_Q.md §6).
///
/// The `__type` spellings are deliberately mixed, with and without the `com.amazon.aws.codewhisperer#`
/// namespace, because the service is reported to send both and clients must strip the prefix.
struct QServiceError: Error, Sendable {
    /// How `reason` appears in the body: AWS sends an explicit `null` on most errors, but some shapes
    /// (an unknown operation) have no such member at all.
    enum Reason: Sendable {
        case absent
        case null
        case value(String)
    }

    var status: HTTPResponse.Status
    var type: String
    var message: String
    var reason: Reason
    /// Sent as `x-q2sim-violation` for validation failures, so that tests can tell which rule fired.
    var violation: String?

    private static let namespace = "com.amazon.aws.codewhisperer#"

    /// The response, with `content-type: application/x-amz-json-1.0` like every awsJson reply.
    func response() -> Response {
        var members: [JSONMember] = [JSONMember("__type", .string(self.type)), JSONMember("message", .string(self.message))]
        switch self.reason {
        case .absent: break
        case .null: members.append(JSONMember("reason", .null))
        case .value(let reason): members.append(JSONMember("reason", .string(reason)))
        }
        var headers: HTTPFields = [.contentType: "application/x-amz-json-1.0"]
        headers[SimulatorHeader.requestID] = RandomIdentifier.uuid()
        if let violation {
            headers[SimulatorHeader.violation] = SimulatorHeader.sanitized(violation)
        }
        return Response(
            status: self.status,
            headers: headers,
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: JSONValue.object(members).jsonBytes))
        )
    }

    // MARK: - Request checks

    static func unknownOperation(_ target: String?) -> Self {
        Self(
            status: .badRequest, type: "UnknownOperationException",
            message: target.map { "Unknown operation: \($0)" } ?? "Missing x-amz-target header", reason: .absent,
            violation: "x-amz-target is \(target.map { "'\($0)'" } ?? "missing")"
        )
    }

    /// What the service answers for a missing, unknown or expired access token (AMAZON_Q.md §6.2).
    static func invalidBearerToken(violation: String? = nil) -> Self {
        Self(
            status: .forbidden, type: namespace + "AccessDeniedException",
            message: "The bearer token included in the request is invalid.", reason: .null, violation: violation
        )
    }

    static func improperlyFormed(_ violation: String) -> Self {
        Self(
            status: .badRequest, type: namespace + "ValidationException", message: "Improperly formed request.",
            reason: .null, violation: violation
        )
    }

    static func invalidModel(_ violation: String) -> Self {
        Self(
            status: .badRequest, type: namespace + "ValidationException",
            message: "Invalid model. Please select a different model to continue.", reason: .value("INVALID_MODEL_ID"),
            violation: violation
        )
    }

    static func inputTooLong(violation: String? = nil) -> Self {
        Self(
            status: .badRequest, type: namespace + "ValidationException", message: "Input is too long.",
            reason: .value("CONTENT_LENGTH_EXCEEDS_THRESHOLD"), violation: violation
        )
    }

    // MARK: - Scripted failures

    static let throttled = Self(
        status: .tooManyRequests, type: "ThrottlingException", message: "Rate exceeded", reason: .null
    )

    static let monthlyLimit = Self(
        status: .badRequest, type: "ThrottlingException", message: "Maximum Request reached for this month.",
        reason: .value("MONTHLY_REQUEST_COUNT")
    )

    static let suspended = Self(
        status: .forbidden, type: namespace + "AccessDeniedException",
        message: "Your account is temporarily suspended. Please contact AWS Support.",
        reason: .value("TEMPORARILY_SUSPENDED")
    )

    static let overloaded = Self(
        status: .internalServerError, type: namespace + "InternalServerException",
        message: "Encountered unexpectedly high load when processing the request, please try again.",
        reason: .value("MODEL_TEMPORARILY_UNAVAILABLE")
    )

    static let unavailable = Self(
        status: .serviceUnavailable, type: "ServiceUnavailableException",
        message: "The service is temporarily unavailable. Please try again later.", reason: .null
    )
}
