import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ProxyModels
import Translation

/// Serves one dialect's routes over the shared core: its create route (decode, plan, pump, then stream or
/// assemble the reply) and its upstream-free endpoints. Every dialect in ``Dialects/all`` gets one.
struct DialectController<D: Dialect>: Sendable {
    let dialect: D
    let runtime: ProxyRuntime

    func addRoutes(to router: Router<ProxyRequestContext>) {
        router.post(RouterPath(dialect.createPath), use: create)
        for endpoint in dialect.endpoints {
            let handler: @Sendable (Request, ProxyRequestContext) async throws -> Response = { request, context in
                try await serve(endpoint, request: request, context: context)
            }
            switch endpoint.method {
            case .get: router.get(RouterPath(endpoint.path), use: handler)
            case .post: router.post(RouterPath(endpoint.path), use: handler)
            case .delete: router.delete(RouterPath(endpoint.path), use: handler)
            }
        }
    }

    @Sendable func create(_ request: Request, context: ProxyRequestContext) async throws -> Response {
        let settings = runtime.settings
        var decoded = try await RequestReading.decoded(
            request, context: context, limit: settings.maxBodyBytes, timeout: settings.bodyTimeout, dialect.decode)
        do {
            decoded = try await dialect.prepare(decoded, archive: runtime.replyArchive)
        } catch {
            throw ProxyHTTPError(error, context: context)
        }
        for field in decoded.conversation.ignoredFields {
            runtime.debugOnce("\(dialect.name).\(field)", "accepted and ignored a request field that only tunes the original API's serving: \(field)")
        }
        let exchange: ReplyExchange
        do {
            exchange = try await ReplyExchange.start(
                decoded.conversation, runtime: runtime, settings: settings, shape: dialect.shape, requestID: context.requestID,
                routing: ExchangeRouting(request, context: context))
        } catch {
            guard dialect.streamsEarlyFailure(error.failure, for: decoded) else { throw error }
            let header = ReplyHeader(
                id: RequestReading.newID(dialect.idPrefix), model: decoded.conversation.model, created: Int(Date().timeIntervalSince1970),
                inputTokens: 0)
            return Self.failedStream(dialect.streamEncoder(for: decoded, header: header), error.failure)
        }

        let header = ReplyHeader(
            id: RequestReading.newID(dialect.idPrefix), model: exchange.conversation.model, created: Int(Date().timeIntervalSince1970),
            inputTokens: exchange.plan.inputTokens, appliedEdits: exchange.plan.appliedEdits)
        let keeps = dialect.keepsReply(decoded)
        let archive = runtime.replyArchive
        let dialect = dialect
        if !exchange.conversation.stream {
            let reply = try await exchange.collect()
            let body: JSONValue
            do {
                body = try dialect.body(for: decoded, header: header, reply: reply)
            } catch {
                throw exchange.fail(error)
            }
            if keeps { await dialect.finished(decoded, header: header, reply: reply, archive: archive) }
            return JSONResponse.make(body)
        }
        var keep: (@Sendable (ReplyAccumulator) async -> Void)?
        if keeps {
            let request = decoded
            keep = { reply in await dialect.finished(request, header: header, reply: reply, archive: archive) }
        }
        return exchange.streamResponse(dialect.streamEncoder(for: decoded, header: header), pingInterval: settings.pingInterval, keep: keep)
    }

    /// A stream that opens and fails at once (see ``Dialect/streamsEarlyFailure(_:for:)``).
    static func failedStream(_ encoder: some ReplyStreamEncoder, _ failure: ProxyFailure) -> Response {
        var framing = StreamFraming(encoder: encoder)
        var buffer = ByteBuffer()
        framing.appendOpening()
        framing.appendFailure(failure)
        framing.flush(into: &buffer)
        return Response(
            status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: .init(byteBuffer: buffer))
    }

    func serve(_ endpoint: DialectEndpoint, request: Request, context: ProxyRequestContext) async throws -> Response {
        var body: JSONValue?
        if endpoint.method == .post {
            let settings = runtime.settings
            body = try await RequestReading.json(request, context: context, limit: settings.maxBodyBytes, timeout: settings.bodyTimeout)
        }
        var parameters: [String: String] = [:]
        for (name, value) in context.parameters { parameters[String(name)] = String(value) }
        var query: [String: String] = [:]
        for (name, value) in request.uri.queryParameters { query[String(name)] = String(value) }
        do {
            return JSONResponse.make(
                try await endpoint.handle(.init(body: body, parameters: parameters, query: query, archive: runtime.replyArchive)))
        } catch {
            throw ProxyHTTPError(error, context: context)
        }
    }
}

extension ProxyServerBuilder {
    /// One controller per dialect: opens the existential so each gets its own typed controller.
    static func addDialectRoutes(_ dialect: some Dialect, runtime: ProxyRuntime, to router: Router<ProxyRequestContext>) {
        DialectController(dialect: dialect, runtime: runtime).addRoutes(to: router)
    }
}

/// A JSON response, for the controllers that answer with one value.
enum JSONResponse {
    static func make(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: value.jsonBytes)))
    }
}

/// Lower-case UUID text for upstream ids.
enum UUIDText {
    static func make() -> String { UUID().uuidString.lowercased() }
}
