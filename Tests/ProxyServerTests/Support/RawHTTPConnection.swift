import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A bare TCP connection to the server under test, for what an HTTP client library hides: a client
/// that hangs up mid-reply with a plain `close()` (a FIN the server must notice), reads slowly, or
/// never finishes its request. Blocking calls with a receive timeout; run it off the cooperative pool.
final class RawHTTPConnection: @unchecked Sendable {
    private let descriptor: Int32
    private var closed = false

    /// Connects to `127.0.0.1:port`; each `receive` waits at most `timeout`.
    init(port: Int, timeout: Duration = .seconds(10)) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw RawConnectionError("socket() failed: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(descriptor)
            throw RawConnectionError("connect() to port \(port) failed: errno \(errno)")
        }
        let seconds = timeout.components.seconds
        var limit = timeval(tv_sec: Int(seconds), tv_usec: Int(timeout.components.attoseconds / 1_000_000_000_000))
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { hangUp() }

    /// Closes the socket: the server sees a FIN.
    func hangUp() {
        guard !closed else { return }
        closed = true
        close(descriptor)
    }

    func send(_ text: String) throws {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let sent = bytes.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { throw RawConnectionError("send() failed: errno \(errno)") }
            bytes = bytes.dropFirst(sent)
        }
    }

    /// Reads until `marker` has arrived (or the timeout, or the peer's close); returns everything read.
    func receive(until marker: String, limit: Int = 1 << 20) throws -> String {
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16_384)
        while received.count < limit {
            if String(decoding: received, as: UTF8.self).contains(marker) { break }
            let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count == 0 { break }
            guard count > 0 else { throw RawConnectionError("recv() failed or timed out (errno \(errno)) before \(marker.debugDescription)") }
            received += chunk[..<count]
        }
        return String(decoding: received, as: UTF8.self)
    }

    /// A POST with a JSON body, as one write.
    func post(_ path: String, json: String, headers: [(String, String)]) throws {
        var head = "POST \(path) HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: \(json.utf8.count)\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        try send(head + "\r\n" + json)
    }
}

struct RawConnectionError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Runs blocking work (a `RawHTTPConnection`) on a thread of its own. On the cooperative pool it
/// would hold one of its few threads (two on a 2-core machine) and starve the server under test,
/// which runs in the same process.
func onOwnThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread { continuation.resume(with: Result { try work() }) }
        thread.start()
    }
}
