import Hummingbird
import Logging
import NIOCore
import Translation

/// Per-request state filled in by middleware.
package struct ProxyRequestContext: RequestContext {
    package var coreContext: CoreRequestContextStorage
    /// `req_…`, returned as `request-id` and in error bodies.
    package var requestID: String = ""
    /// How errors look for this request: the shape of the dialect whose path it asked for.
    package var errorShape: any FailureShape = ClaudeFailureShape()
    /// The dialect's name, for the access log (`claude`, `openai`, `responses`, `admin`).
    package var dialectName = "claude"
    /// The request presented an admin key (`admin_keys`).
    package var isAdmin = false
    /// Which admin key, as `admin-key-N` (its position in `admin_keys`), for the audit log; never the key.
    package var adminKeyID: String?
    /// The name of the API key the request presented (`api_keys[].name`, never the key), `admin` for an admin key,
    /// `anonymous` when the server has no `api_keys`; `nil` on paths no API key guards. Set by ``APIKeyMiddleware``.
    package var apiKeyName: String?
    /// The client connected over loopback (`admin_open_on_loopback`).
    package let remoteIsLoopback: Bool
    /// The listener that accepted the connection is bound to a loopback address (judged by the bound address,
    /// never by what the client claims): `/metrics` is open there and `/healthz` shows its details.
    package let listenerIsLoopback: Bool
    /// The client's connection: a stream waiting on a silent upstream registers with ``ConnectionHangups``
    /// to learn of a client that went away at once, not at the next keep-alive write.
    package let connection: any Channel

    package init(source: Source) {
        self.coreContext = .init(source: source)
        self.remoteIsLoopback = Self.isLoopback(source.channel.remoteAddress)
        // The server channel's address is what the listener bound (0.0.0.0 is not loopback even when this client
        // came in over 127.0.0.1); the connection's own local address only when there is no parent.
        self.listenerIsLoopback = Self.isLoopback(source.channel.parent?.localAddress ?? source.channel.localAddress)
        self.connection = source.channel
    }

    static func isLoopback(_ address: SocketAddress?) -> Bool {
        guard let address else { return false }
        switch address {
        case .v4: return address.ipAddress?.hasPrefix("127.") ?? false
        case .v6: return address.ipAddress == "::1" || (address.ipAddress?.hasPrefix("::ffff:127.") ?? false)
        case .unixDomainSocket: return true
        }
    }

    /// Bodies are bounded by `limits.max_body`, checked by the controllers with their own error shape.
    package var maxUploadSize: Int { Int.max }
}
