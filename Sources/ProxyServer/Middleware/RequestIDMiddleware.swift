import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Translation

/// Gives every request an id (`request-id` header, error bodies, logs), decides its dialect,
/// writes one access-log line, and turns any stray error into the dialect's error shape.
package struct RequestIDMiddleware: RouterMiddleware {
    package typealias Context = ProxyRequestContext
    let logger: Logger

    package init(logger: Logger) {
        self.logger = logger
    }

    package func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        context.requestID = "req_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(24)
        context.dialect = Self.dialect(of: request)
        let started = ContinuousClock.now
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as ProxyHTTPError {
            response = try error.response(from: request, context: context)
        } catch let error as HTTPError {
            let claude: ClaudeError =
                switch error.status.code {
                case 404: .notFound("no route for \(request.method.rawValue) \(request.uri.path)")
                case 405: .invalidRequest("method \(request.method.rawValue) is not allowed on \(request.uri.path)")
                case 413: .requestTooLarge("request body too large")
                case 400..<500: .init(type: "invalid_request_error", status: Int(error.status.code), message: error.body ?? "bad request")
                default: .api(error.body ?? "internal error")
                }
            response = try ProxyHTTPError(claude, dialect: context.dialect, requestID: context.requestID).response(from: request, context: context)
        } catch {
            logger.error("request failed", metadata: ["request.id": "\(context.requestID)", "error": "\(String(reflecting: type(of: error)))"])
            response = try ProxyHTTPError(.api("internal error"), dialect: context.dialect, requestID: context.requestID)
                .response(from: request, context: context)
        }
        response.headers[HTTPField.Name("request-id")!] = context.requestID
        let elapsed = ContinuousClock.now - started
        if request.uri.path != "/healthz" && request.uri.path != "/health" {
            logger.info(
                "request",
                metadata: [
                    "request.id": "\(context.requestID)", "method": "\(request.method.rawValue)", "path": "\(request.uri.path)",
                    "status": "\(response.status.code)", "dialect": "\(context.dialect.rawValue)",
                    "duration_ms": "\(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)",
                ])
        }
        return response
    }

    /// OpenAI routes, and `/v1/models` without Anthropic headers, speak OpenAI; the rest Claude.
    static func dialect(of request: Request) -> Dialect {
        let path = request.uri.path
        if path.hasPrefix("/v1/chat/") || path.hasPrefix("/v1/completions") { return .openAI }
        if path == "/v1/models" || path.hasPrefix("/v1/models/") {
            let anthropic = request.headers[HTTPField.Name("anthropic-version")!] != nil || request.headers[HTTPField.Name("x-api-key")!] != nil
            return anthropic ? .claude : .openAI
        }
        return .claude
    }
}
