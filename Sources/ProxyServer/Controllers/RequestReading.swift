import Foundation
import Hummingbird
import NIOCore
import ProxyModels
import Translation

/// Body reading shared by the API controllers: size limit, JSON parsing, errors in the dialect's shape.
enum RequestReading {
    static func json(_ request: Request, context: ProxyRequestContext, limit: Int) async throws -> JSONValue {
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: limit)
        } catch {
            throw ProxyHTTPError(
                .requestTooLarge("request body is larger than the configured limit of \(limit) bytes"), dialect: context.dialect,
                requestID: context.requestID)
        }
        do {
            return try buffer.withUnsafeReadableBytes { raw throws(JSONParseError) in
                try JSONParser.parse(UnsafeBufferPointer(start: raw.baseAddress?.assumingMemoryBound(to: UInt8.self), count: raw.count))
            }
        } catch {
            throw ProxyHTTPError(.invalidRequest("the request body is not valid JSON: \(error.description)"), dialect: context.dialect, requestID: context.requestID)
        }
    }

    /// The body read as JSON and decoded by a dialect's decoder; its `RequestError` becomes a 400 (or 404) in the dialect's shape.
    static func decoded<Decoded>(
        _ request: Request, context: ProxyRequestContext, limit: Int, _ decode: (JSONValue) throws(RequestError) -> Decoded
    ) async throws -> Decoded {
        let body = try await json(request, context: context, limit: limit)
        do {
            return try decode(body)
        } catch {
            throw ProxyHTTPError(ClaudeError(requestError: error), dialect: context.dialect, requestID: context.requestID)
        }
    }

    /// A fresh id with the given prefix (`msg_…`, `chatcmpl-…`).
    static func newID(_ prefix: String) -> String {
        prefix + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(24)
    }

    /// `Monday, 2026-01-19T16:50:51.123+00:00`, the form the CLI sends as the current time.
    static func currentTimeText() -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(secondsFromGMT: 0)
        formatter.dateFormat = "EEEE, yyyy-MM-dd'T'HH:mm:ss.SSSxxx"
        return formatter.string(from: Date())
    }
}
