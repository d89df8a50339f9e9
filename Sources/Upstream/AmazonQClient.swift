import AsyncHTTPClient
import EventStream
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import ProxyModels

/// Calls `GenerateAssistantResponse` and turns the reply into typed events.
package struct AmazonQClient: Sendable {
    /// What a call produced: a live event stream (HTTP 200), or the upstream's refusal.
    package enum Reply: Sendable {
        case stream(QEventStream)
        case failure(QUpstreamFailure)
    }

    package let http: UpstreamHTTPClient

    package init(http: UpstreamHTTPClient) {
        self.http = http
    }

    /// Sends one request. Network failures before a response are thrown as `QUpstreamFailure`
    /// of kind `transient`, so the caller can fail over.
    ///
    /// - Parameters:
    ///   - endpoint: the upstream URL (`https://q.us-east-1.amazonaws.com/`).
    ///   - headers: the template's headers; authorization and invocation id are added here.
    ///   - body: the serialised JSON body.
    package func send(
        endpoint: String, headers: [(name: String, value: String)], accessToken: String, body: [UInt8], logger: Logger
    ) async throws(QUpstreamFailure) -> Reply {
        var request = HTTPClientRequest(url: endpoint)
        request.method = .POST
        for header in headers { request.headers.add(name: header.name, value: header.value) }
        request.headers.replaceOrAdd(name: "authorization", value: "Bearer \(accessToken)")
        request.headers.replaceOrAdd(name: "amz-sdk-invocation-id", value: UUID().uuidString.lowercased())
        request.body = .bytes(ByteBuffer(bytes: body))

        let response: HTTPClientResponse
        do {
            // The deadline only bounds pathological cases; stalls are caught by the read timeout.
            response = try await http.client.execute(request, deadline: .now() + .hours(2), logger: logger.forHTTPClient)
        } catch {
            throw Self.networkFailure(error)
        }
        guard response.status == .ok else {
            var collected: ByteBuffer
            do {
                collected = try await response.body.collect(upTo: 64 * 1024)
            } catch {
                collected = ByteBuffer()
            }
            let bytes = collected.readBytes(length: collected.readableBytes) ?? []
            let retryAfter = response.headers.first(name: "retry-after").flatMap { Int($0) }
            return .failure(
                QUpstreamFailure.fromHTTP(
                    status: Int(response.status.code), body: bytes, errorTypeHeader: response.headers.first(name: "x-amzn-errortype"),
                    retryAfter: retryAfter))
        }
        return .stream(QEventStream(body: response.body))
    }

    /// A transport error in upstream-failure form. Its message names the failure, never a token.
    static func networkFailure(_ error: any Error) -> QUpstreamFailure {
        if let failure = error as? QUpstreamFailure { return failure }
        let name: String
        if let clientError = error as? HTTPClientError {
            switch clientError {
            case .readTimeout: name = "ReadTimeout"
            case .connectTimeout: name = "ConnectTimeout"
            case .deadlineExceeded: name = "DeadlineExceeded"
            case .remoteConnectionClosed: name = "ConnectionClosed"
            case .cancelled: name = "Cancelled"
            default: name = "ConnectionError"
            }
        } else if error is CancellationError {
            name = "Cancelled"
        } else {
            name = "ConnectionError"
        }
        return QUpstreamFailure(
            kind: .transient, status: nil, name: name, reason: nil, message: "upstream connection failed: \(String(describing: error))")
    }
}

/// The reply body as Amazon Q events: frames decoded incrementally as bytes arrive.
package struct QEventStream: AsyncSequence, Sendable {
    package typealias Element = QEvent
    package typealias Failure = QUpstreamFailure

    let body: HTTPClientResponse.Body

    package func makeAsyncIterator() -> Iterator {
        Iterator(body: body.makeAsyncIterator())
    }

    package struct Iterator: AsyncIteratorProtocol {
        var body: HTTPClientResponse.Body.AsyncIterator
        var decoder = EventStreamDecoder()
        var buffer = ByteBuffer()
        var ended = false

        /// Every event the bytes received so far hold (at least one), or `nil` at the end. A proxy that handles a
        /// whole network read at once writes to its client once per read instead of once per frame: the per-write
        /// cost (a task hop and a syscall) dominated the per-frame cost.
        package mutating func nextBatch() async throws(QUpstreamFailure) -> [QEvent]? {
            guard let first = try await next() else { return nil }
            var batch = [first]
            do {
                while let message = try decoder.decode(buffer: &buffer) {
                    batch.append(QEventStream.event(from: message))
                }
                if buffer.readableBytes == 0 { buffer.clear() }
            } catch let error as EventStreamError {
                // Hand out what decoded cleanly; the corruption is reported by the next call.
                corruption = error
            } catch {
                throw AmazonQClient.networkFailure(error)
            }
            return batch
        }

        /// A decoding error found while filling a batch, reported on the following call.
        var corruption: EventStreamError?

        package mutating func next() async throws(QUpstreamFailure) -> QEvent? {
            if let corruption {
                self.corruption = nil
                throw QUpstreamFailure(
                    kind: .transient, status: nil, name: "CorruptStream", reason: corruption.shortDescription,
                    message: "the upstream stream is corrupt: \(corruption.description)")
            }
            while true {
                do {
                    if let message = try decoder.decode(buffer: &buffer) {
                        if buffer.readableBytes == 0 { buffer.clear() }
                        return QEventStream.event(from: message)
                    }
                    if ended {
                        if let message = try decoder.decodeLast(buffer: &buffer, seenEOF: true) {
                            return QEventStream.event(from: message)
                        }
                        return nil
                    }
                } catch let error as EventStreamError {
                    throw QUpstreamFailure(
                        kind: .transient, status: nil, name: "CorruptStream", reason: error.shortDescription,
                        message: "the upstream stream is corrupt: \(error.description)")
                } catch {
                    throw AmazonQClient.networkFailure(error)
                }
                do {
                    if var chunk = try await body.next() {
                        if buffer.readableBytes == 0 {
                            buffer.clear()
                        } else if buffer.readerIndex > 65536 {
                            buffer.discardReadBytes()
                        }
                        buffer.writeBuffer(&chunk)
                    } else {
                        ended = true
                    }
                } catch {
                    throw AmazonQClient.networkFailure(error)
                }
            }
        }
    }

    /// One frame as an event (AMAZON_Q.md §5); exception and error frames become failures.
    package static func event(from message: EventStreamMessage) -> QEvent {
        switch message.messageType {
        case "exception":
            let payload = parsePayload(message.payload)
            return .failure(
                QUpstreamFailure.classify(
                    status: nil, name: message.exceptionType ?? payload?["__type"]?.stringValue,
                    reason: payload?["reason"]?.stringValue, message: payload?["message"]?.stringValue ?? "the upstream stream failed"))
        case "error":
            return .failure(
                QUpstreamFailure.classify(
                    status: nil, name: message.errorCode, reason: nil, message: message.errorMessage ?? "the upstream stream failed"))
        default:
            guard let eventType = message.eventType else { return .ignored("") }
            guard let payload = parsePayload(message.payload) else {
                if message.payload.readableBytes == 0 { return QEvent.from(eventType: eventType, payload: .object([])) }
                return .failure(
                    QUpstreamFailure(
                        kind: .transient, status: nil, name: "CorruptStream", reason: "payload", message: "an upstream event carried invalid JSON"))
            }
            return QEvent.from(eventType: eventType, payload: payload)
        }
    }

    static func parsePayload(_ payload: ByteBuffer) -> JSONValue? {
        guard payload.readableBytes > 0 else { return nil }
        return payload.withUnsafeReadableBytes { raw in
            try? JSONParser.parse(UnsafeBufferPointer(start: raw.baseAddress?.assumingMemoryBound(to: UInt8.self), count: raw.count))
        }
    }
}
