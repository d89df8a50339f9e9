import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ProxyModels
import Translation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Body reading shared by the API controllers: size limit, JSON parsing, errors in the dialect's shape.
enum RequestReading {
    static func json(_ request: Request, context: ProxyRequestContext, limit: Int, timeout: Duration) async throws -> JSONValue {
        let buffer: ByteBuffer
        do {
            buffer = try await BodyCollection.collect(request, upTo: limit, within: timeout, connection: context.connection)
        } catch .timedOut {
            throw ProxyHTTPError(.init(.timeout, BodyCollection.timeoutMessage), context: context)
        } catch {
            throw ProxyHTTPError(.requestTooLarge("request body is larger than the configured limit of \(limit) bytes"), context: context)
        }
        do {
            return try buffer.withUnsafeReadableBytes { raw throws(JSONParseError) in
                try JSONParser.parse(UnsafeBufferPointer(start: raw.baseAddress?.assumingMemoryBound(to: UInt8.self), count: raw.count))
            }
        } catch {
            throw ProxyHTTPError(.invalidRequest("the request body is not valid JSON: \(error.description)"), context: context)
        }
    }

    /// The body read as JSON and decoded by a dialect's decoder; its `RequestError` becomes a 400 (or 404) in the dialect's shape.
    static func decoded<Decoded>(
        _ request: Request, context: ProxyRequestContext, limit: Int, timeout: Duration, _ decode: (JSONValue) throws(RequestError) -> Decoded
    ) async throws -> Decoded {
        let body = try await json(request, context: context, limit: limit, timeout: timeout)
        do {
            return try decode(body)
        } catch {
            throw ProxyHTTPError(ProxyFailure(requestError: error), context: context)
        }
    }

    /// A fresh id with the given prefix (`msg_…`, `chatcmpl-…`).
    static func newID(_ prefix: String) -> String {
        prefix + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(24)
    }

    /// `Monday, 2026-01-19T16:50:51.123+00:00`, the form the CLI sends as the current time.
    ///
    /// Built by hand from `gmtime_r`: a `DateFormatter` per request was the costliest line of request planning.
    static func currentTimeText(_ date: Date = Date()) -> String {
        let seconds = date.timeIntervalSince1970
        var whole = time_t(seconds.rounded(.down))
        let milliseconds = min(999, max(0, Int((seconds - seconds.rounded(.down)) * 1000)))
        var parts = tm()
        gmtime_r(&whole, &parts)
        let weekday = weekdays[Int(parts.tm_wday) % 7]
        return "\(weekday), \(pad(Int(parts.tm_year) + 1900, 4))-\(pad(Int(parts.tm_mon) + 1, 2))-\(pad(Int(parts.tm_mday), 2))T"
            + "\(pad(Int(parts.tm_hour), 2)):\(pad(Int(parts.tm_min), 2)):\(pad(Int(parts.tm_sec), 2)).\(pad(milliseconds, 3))+00:00"
    }

    private static let weekdays = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]

    private static func pad(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }
}

/// Which account a request should go to: its session (affinity) and, for an admin's test request
/// from the console, an account picked by hand.
struct ExchangeRouting: Sendable {
    /// `X-Claude-Code-Session-Id`, else the body's `metadata.user_id` (filled in by the exchange).
    var sessionKey: String?
    /// `x-q2api-account`, honoured only for requests authenticated with an admin key.
    var pinnedAccount: String?
    /// The client's connection: its hang-up cancels the exchange from the start, before the first reply event.
    var connection: (any Channel)?
    /// The name of the request's API key (``ProxyRequestContext/apiKeyName``): its `models` and `limits` apply.
    var apiKeyName: String?

    init(sessionKey: String? = nil, pinnedAccount: String? = nil, connection: (any Channel)? = nil, apiKeyName: String? = nil) {
        self.sessionKey = sessionKey
        self.pinnedAccount = pinnedAccount
        self.connection = connection
        self.apiKeyName = apiKeyName
    }

    init(_ request: Request, context: ProxyRequestContext) {
        let session = request.headers[Self.sessionHeader].flatMap { $0.isEmpty ? nil : String($0.prefix(256)) }
        let pinned = context.isAdmin ? request.headers[Self.accountHeader].flatMap { $0.isEmpty ? nil : $0 } : nil
        self.init(sessionKey: session, pinnedAccount: pinned, connection: context.connection, apiKeyName: context.apiKeyName)
    }

    static let sessionHeader = HTTPField.Name("x-claude-code-session-id")!
    static let accountHeader = HTTPField.Name("x-q2api-account")!
}
