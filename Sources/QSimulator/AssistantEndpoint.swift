import Hummingbird
import NIOCore
import ProxyModels

/// `POST /`: the `GenerateAssistantResponse` operation (AMAZON_Q.md §1-§6).
///
/// Checks run in the service's order: operation, bearer token, body shape, then limits and model.
/// Only then do the request's directives pick an error or the stream to send.
enum AssistantEndpoint {
    /// Bodies above this are refused before parsing. The service's own limits (600,000 characters of
    /// content, ten 10 MiB images) fit well below it.
    static let maximumBodySize = 128 * 1024 * 1024

    static func respond(to request: Request, options: SimulatorOptions, state: SimulatorState) async throws -> Response {
        state.recordRequest()
        do {
            let target = request.headers[SimulatorHeader.target]
            guard target == SimulatorHeader.generateAssistantResponse else {
                throw QServiceError.unknownOperation(target)
            }
            do {
                try Self.checkAuthorization(request.headers[.authorization], state: state)
            } catch {
                state.recordAuthFailure()
                return error.response()
            }

            let buffer = try await request.body.collect(upTo: Self.maximumBodySize)
            let body: JSONValue
            do {
                body = try JSONParser.parse(Array(buffer.readableBytesView))
            } catch {
                throw QServiceError.improperlyFormed("body is not valid JSON: \(error)")
            }
            if let token = request.headers[.authorization]?.dropFirst(7), state.isKiroAccessToken(String(token)) {
                try KiroAuthEndpoint.checkKiroRequest(request.headers, body: body)
            }
            let assistantRequest = try RequestValidator(models: options.models).validate(body)
            state.recordValidBody(body)
            if let rejection = assistantRequest.rejection { throw rejection }

            let builder = ReplyBuilder(request: assistantRequest, options: options)
            if builder.script.planStep != nil { state.recordPlanReply() }
            switch try builder.plan() {
            case .failure(let error):
                state.recordScriptedFailure()
                return error.response()
            case .stream(let script):
                var headers: HTTPFields = [.contentType: "application/vnd.amazon.eventstream"]
                headers[SimulatorHeader.requestID] = RandomIdentifier.uuid()
                return Response(
                    status: .ok,
                    headers: headers,
                    body: ResponseBody { writer in
                        try await ReplyStreamer.play(script, state: state, writes: options.writes, writer: &writer)
                    }
                )
            }
        } catch let error as QServiceError {
            state.recordRejection(error)
            return error.response()
        }
    }

    /// Accepts only `Bearer <token>` with a token issued by `/token` and not yet expired.
    private static func checkAuthorization(_ value: String?, state: SimulatorState) throws(QServiceError) {
        guard let value else {
            throw .invalidBearerToken(violation: "authorization header is missing")
        }
        guard value.hasPrefix("Bearer "), !value.dropFirst(7).isEmpty else {
            throw .invalidBearerToken(violation: "authorization header is not 'Bearer <token>'")
        }
        guard state.isValidAccessToken(String(value.dropFirst(7))) else {
            throw .invalidBearerToken(violation: "access token is unknown or expired")
        }
    }
}
