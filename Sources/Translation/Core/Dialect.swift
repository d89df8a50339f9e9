import ProxyModels

/// One API q2api speaks (the Claude Messages API, OpenAI Chat Completions, OpenAI Responses).
///
/// A dialect is pure: it decodes a request body into the neutral ``Conversation``, encodes the neutral
/// ``ReplyEvent``s as its stream and its whole-reply body, and renders a ``ProxyFailure`` in its error shape.
/// The server does everything else the same way for all of them (accounts, failover, keep-alives, hang-ups,
/// shutdown), so adding a dialect is a folder under `Dialects/` and one line in ``Dialects/all``.
package protocol Dialect: Sendable {
    associatedtype Request: DialectRequest
    associatedtype Stream: ReplyStreamEncoder

    /// A short name for logs and metrics (`claude`, `openai`, `responses`).
    var name: String { get }
    /// How errors look on this dialect's paths.
    var shape: any FailureShape { get }
    /// Paths this dialect owns: an unknown route or wrong method under them is answered in its shape.
    var pathPrefixes: [String] { get }
    /// The `POST` route that starts a reply (`/v1/messages`).
    var createPath: String { get }
    /// What a reply's id starts with (`msg_`, `chatcmpl-`, `resp_`).
    var idPrefix: String { get }
    /// Routes besides ``createPath`` that need no upstream exchange (`count_tokens`, a stored response).
    var endpoints: [DialectEndpoint] { get }

    func decode(_ body: JSONValue) throws(RequestError) -> Request
    /// Fills in what the request only refers to (a stored conversation it continues), before it is planned.
    func prepare(_ request: Request, archive: any ReplyArchive) async throws(ProxyFailure) -> Request
    func streamEncoder(for request: Request, header: ReplyHeader) -> Stream
    /// The whole-reply body; a reply that breaks the requested schema is a ``ProxyFailure/Kind/badReply``.
    func body(for request: Request, header: ReplyHeader, reply: ReplyAccumulator) throws(ProxyFailure) -> JSONValue
    /// Whether a failure before the reply started goes out as a stream that ends with it (a 200), rather than as an
    /// HTTP error: for clients that retry only what their stream tells them (Codex never retries a 429).
    func streamsEarlyFailure(_ failure: ProxyFailure, for request: Request) -> Bool
    /// Whether the finished reply must be handed to ``finished(_:header:reply:archive:)`` (the stream then keeps a copy).
    func keepsReply(_ request: Request) -> Bool
    /// The reply is over (whole, cut by `max_tokens`, or failed after it started): keep what must outlive the request.
    func finished(_ request: Request, header: ReplyHeader, reply: ReplyAccumulator, archive: any ReplyArchive) async
}

extension Dialect {
    package var endpoints: [DialectEndpoint] { [] }
    package func prepare(_ request: Request, archive: any ReplyArchive) async throws(ProxyFailure) -> Request { request }
    package func keepsReply(_ request: Request) -> Bool { false }
    package func streamsEarlyFailure(_ failure: ProxyFailure, for request: Request) -> Bool { false }
    package func finished(_ request: Request, header: ReplyHeader, reply: ReplyAccumulator, archive: any ReplyArchive) async {}

    /// Whether `path` belongs to this dialect.
    package func owns(_ path: String) -> Bool {
        pathPrefixes.contains { path.hasPrefix($0) }
    }
}

/// A decoded request: the neutral conversation, plus whatever only its dialect's encoder needs.
package protocol DialectRequest: Sendable {
    var conversation: Conversation { get set }
}

/// What is known when a reply starts, and echoed in it.
package struct ReplyHeader: Sendable, Equatable {
    /// The reply's id (`msg_…`), made by the server with the dialect's ``Dialect/idPrefix``.
    package var id: String
    /// The model as the client named it.
    package var model: String
    /// Unix seconds (passed in: this module touches no clock).
    package var created: Int
    /// q2api's estimate of the prompt, until the upstream reports usage.
    package var inputTokens: Int
    /// Claude `context_management` edits applied to the history.
    package var appliedEdits: [JSONValue]

    package init(id: String, model: String, created: Int, inputTokens: Int, appliedEdits: [JSONValue] = []) {
        self.id = id
        self.model = model
        self.created = created
        self.inputTokens = inputTokens
        self.appliedEdits = appliedEdits
    }
}

/// One frame of a reply stream, in server-sent-event terms; the server turns frames into bytes.
package enum StreamFrame: Sendable, Equatable {
    /// `event: <name>` (left out when nil) and `data: <json>`.
    case event(String?, JSONValue)
    /// `data: <text>` as it is (OpenAI's `[DONE]`).
    case data(String)
    /// `: <text>`, ignored by clients (a keep-alive).
    case comment(String)
}

/// Encodes one reply's neutral events as a dialect's stream.
package protocol ReplyStreamEncoder: Sendable {
    /// What goes out before the first event (Claude's `message_start`, OpenAI's role chunk).
    mutating func opening() -> [StreamFrame]
    mutating func encode(_ event: ReplyEvent) -> [StreamFrame]
    /// Writes the frames of `event` as server-sent-event bytes: the same bytes as ``encode(_:)``'s frames. The hot
    /// path of a stream; dialects write their deltas through a ``FrameTemplate`` instead of a JSON value tree.
    mutating func write(_ event: ReplyEvent, into bytes: inout [UInt8])
    /// Sent whenever the upstream has been silent for the ping interval.
    mutating func keepAlive() -> StreamFrame
    /// The last frames of a stream that fails after it started (the upstream broke off, or the server is stopping).
    mutating func failure(_ failure: ProxyFailure) -> [StreamFrame]
}

extension ReplyStreamEncoder {
    package mutating func write(_ event: ReplyEvent, into bytes: inout [UInt8]) {
        for frame in encode(event) { frame.write(into: &bytes) }
    }
}

/// How a dialect shows a failure: its HTTP status and its error body.
package protocol FailureShape: Sendable {
    func status(of failure: ProxyFailure) -> Int
    func body(of failure: ProxyFailure, requestID: String?) -> JSONValue
}

/// A route of a dialect that is answered without the upstream (`POST /v1/messages/count_tokens`,
/// `GET /v1/responses/{id}`).
package struct DialectEndpoint: Sendable {
    package enum Method: String, Sendable {
        case get = "GET"
        case post = "POST"
        case delete = "DELETE"
    }

    package struct Call: Sendable {
        /// The JSON body, for a `POST`.
        package var body: JSONValue?
        /// Path parameters by name (`:id` → `id`).
        package var parameters: [String: String]
        /// The query string's parameters.
        package var query: [String: String]
        package var archive: any ReplyArchive

        package init(body: JSONValue?, parameters: [String: String], query: [String: String] = [:], archive: any ReplyArchive) {
            self.body = body
            self.parameters = parameters
            self.query = query
            self.archive = archive
        }
    }

    package var method: Method
    /// A router path; `:name` is a parameter.
    package var path: String
    package var handle: @Sendable (Call) async throws(ProxyFailure) -> JSONValue

    package init(_ method: Method, _ path: String, _ handle: @escaping @Sendable (Call) async throws(ProxyFailure) -> JSONValue) {
        self.method = method
        self.path = path
        self.handle = handle
    }
}

/// Replies kept beyond their request, by id (OpenAI Responses `store: true`), with a retention period.
/// The server keeps them in the state directory; a dialect sees only this.
package protocol ReplyArchive: Sendable {
    /// The record kept under `id`, or nil when there is none or it expired.
    func record(_ id: String) async -> JSONValue?
    /// Keeps `record` under `id`, replacing any earlier one.
    func keep(_ id: String, _ record: JSONValue) async
    /// Forgets `id`. - Returns: whether there was such a record.
    func forget(_ id: String) async -> Bool
}
