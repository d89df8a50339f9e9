import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Translation
import Usage

/// Gives every request an id (`request-id` header, error bodies, logs), decides its dialect,
/// writes one access-log line, and turns any stray error into the dialect's error shape.
package struct RequestIDMiddleware: RouterMiddleware {
    package typealias Context = ProxyRequestContext
    let logger: Logger
    let metrics: ProxyMetrics?
    /// The router's routes, to tell a wrong method (405) from an unknown path (404).
    let routes: RouteTable?
    /// Where finished requests are counted per key, account and model.
    let usage: UsageLedger?

    package init(logger: Logger, metrics: ProxyMetrics? = nil, routes: RouteTable? = nil, usage: UsageLedger? = nil) {
        self.logger = logger
        self.metrics = metrics
        self.routes = routes
        self.usage = usage
    }

    package func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        context.requestID = RequestReading.newID("req_")
        (context.dialectName, context.errorShape) = Self.dialect(of: request)
        // What the request did, for the access log and the request metrics: filled by the exchange and the pump,
        // which reach it as a task local.
        let recorder = AccessLogRecorder()
        var response: Response
        do {
            response = try await AccessLogRecorder.$current.withValue(recorder) { try await next(request, context) }
        } catch let error as HTTPError where error.status == .notFound && !(routes?.methods(for: request.uri.path).isEmpty ?? true) {
            // A known path asked with a method it does not take.
            let allowed = routes?.methods(for: request.uri.path) ?? []
            let failure = ProxyFailure(
                .methodNotAllowed,
                "method \(request.method.rawValue) is not allowed on \(request.uri.path); allowed: \(allowed.joined(separator: ", "))")
            if AdminAccess.isAdminPath(request.uri.path) {
                response = try AdminError(.methodNotAllowed, "method_not_allowed", failure.message).response(from: request, context: context)
            } else {
                response = try ProxyHTTPError(failure, context: context).response(from: request, context: context)
            }
            response.headers[.allow] = allowed.joined(separator: ", ")
        } catch let error as ProxyHTTPError {
            response = try error.response(from: request, context: context)
        } catch let error as AdminError {
            response = try error.response(from: request, context: context)
        } catch let error as HTTPError where request.uri.path.hasPrefix("/v2/") {
            // An unknown admin route (or method): the admin API's own shape, as for its known routes.
            let admin: AdminError =
                switch error.status.code {
                case 404: .notFound("no route for \(request.method.rawValue) \(request.uri.path)")
                case 405:
                    AdminError(.methodNotAllowed, "method_not_allowed", "method \(request.method.rawValue) is not allowed on \(request.uri.path)")
                case 413: AdminError(.contentTooLarge, "request_too_large", "request body too large")
                case 400..<500: AdminError(error.status, "invalid_request", error.body ?? "bad request")
                default: AdminError(.internalServerError, "internal_error", error.body ?? "internal error")
                }
            response = try admin.response(from: request, context: context)
        } catch let error as HTTPError {
            // An unknown route or method under an API's paths: that API's shape, so its clients can read it.
            let failure: ProxyFailure =
                switch error.status.code {
                case 404: .notFound("no route for \(request.method.rawValue) \(request.uri.path)")
                case 405: .init(.methodNotAllowed, "method \(request.method.rawValue) is not allowed on \(request.uri.path)")
                case 408: .init(.timeout, error.body ?? "request timeout")
                case 413: .requestTooLarge("request body too large")
                case 431: .init(.headersTooLarge, error.body ?? "request headers too large")
                case 400..<500: .invalidRequest(error.body ?? "bad request")
                default: .internalError(error.body ?? "internal error")
                }
            response = try ProxyHTTPError(failure, context: context).response(from: request, context: context)
        } catch {
            logger.error("request failed", metadata: ["request.id": "\(context.requestID)", "error": "\(String(reflecting: type(of: error)))"])
            response = try ProxyHTTPError(.internalError("internal error"), context: context).response(from: request, context: context)
        }
        response.headers[HTTPField.Name("request-id")!] = context.requestID
        let finish = AccessLogLine(
            logger: logger, metrics: metrics, recorder: recorder, requestID: context.requestID, method: request.method.rawValue,
            path: request.uri.path, status: Int(response.status.code), dialect: context.dialectName, usage: usage)
        guard recorder.snapshot.stream else {
            finish.write()
            return response
        }
        // A stream's line is written when its last byte is out (or the client went away), so that
        // the duration, the first-token time and the usage are the real ones.
        let body = response.body
        response.body = ResponseBody(contentLength: body.contentLength) { writer in
            do {
                try await body.write(writer)
            } catch {
                finish.write(clientGone: true)
                throw error
            }
            finish.write()
        }
        return response
    }

    /// The dialect whose paths the request asked for decides its errors' shape; `/v1/models` is shared, so
    /// Anthropic's headers pick Claude's shape there and OpenAI's otherwise; any other path gets Claude's.
    static func dialect(of request: Request) -> (name: String, shape: any FailureShape) {
        dialect(ofPath: request.uri.path) {
            request.headers[HTTPField.Name("anthropic-version")!] != nil || request.headers[HTTPField.Name("x-api-key")!] != nil
        }
    }

    static func dialect(ofPath path: String, anthropicHeaders: () -> Bool = { false }) -> (name: String, shape: any FailureShape) {
        if let owner = Dialects.owner(of: path) { return (owner.name, owner.shape) }
        if path == "/v1/models" || path.hasPrefix("/v1/models/") {
            return anthropicHeaders() ? ("claude", ClaudeFailureShape()) : ("openai", OpenAIFailureShape())
        }
        if AdminAccess.isAdminPath(path) { return ("admin", ClaudeFailureShape()) }
        return ("claude", ClaudeFailureShape())
    }
}

/// Writes the access-log line and the request metrics of one finished request.
package struct AccessLogLine: Sendable {
    let logger: Logger
    let metrics: ProxyMetrics?
    let recorder: AccessLogRecorder
    let requestID: String
    let method: String
    let path: String
    let status: Int
    let dialect: String
    let usage: UsageLedger?

    package init(
        logger: Logger, metrics: ProxyMetrics?, recorder: AccessLogRecorder, requestID: String, method: String, path: String, status: Int,
        dialect: String, usage: UsageLedger? = nil
    ) {
        self.usage = usage
        self.logger = logger
        self.metrics = metrics
        self.recorder = recorder
        self.requestID = requestID
        self.method = method
        self.path = path
        self.status = status
        self.dialect = dialect
    }

    /// Probes and scrapes are logged at debug level only, so they do not drown the requests.
    static let quietPaths: Set<String> = ["/healthz", "/health", "/readyz", "/metrics"]

    package func write(clientGone: Bool = false) {
        let end = ContinuousClock.now
        let fields = recorder.snapshot
        // The request's last byte is out: its key's stream permit is free, its tokens count towards the key's day.
        fields.keyPermit?.release(tokens: (fields.inputTokens ?? 0) + (fields.outputTokens ?? 0))
        if let metrics {
            metrics.recordRequest(endpoint: path, model: fields.metricModel, status: status, duration: end - recorder.started)
            if fields.stream, let first = fields.firstTokenAt { metrics.recordTimeToFirstToken(endpoint: path, first - recorder.started) }
            if let model = fields.metricModel { metrics.recordTokens(model: model, input: fields.inputTokens ?? 0, output: fields.outputTokens ?? 0) }
        }
        recordUsage(fields)
        var metadata = recorder.metadata(requestID: requestID, method: method, path: path, status: status, dialect: dialect, at: end)
        if clientGone { metadata["client_gone"] = "true" }
        logger.log(level: Self.quietPaths.contains(path) ? .debug : .info, "request", metadata: metadata)
    }
}
