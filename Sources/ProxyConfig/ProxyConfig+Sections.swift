import Foundation

// MARK: - Listener

extension ProxyConfig {
    /// One entry of `listeners`.
    package struct Listener: Sendable, Hashable {
        /// `address`: where to listen.
        package var address: ListenAddress
        /// `open`: serve even with no `api_keys` although the address is not loopback.
        package var open: Bool

        package init(address: ListenAddress = ListenAddress(host: "127.0.0.1", port: 8080), open: Bool = false) {
            self.address = address
            self.open = open
        }
    }
}

/// A `host:port` listen address. IPv6 hosts are written in brackets in the file (`[::1]:8080`) and stored here
/// without them.
package struct ListenAddress: Sendable, Hashable, CustomStringConvertible {
    /// An IPv4 address, an IPv6 address (no brackets) or a host name.
    package var host: String
    /// 0...65535; 0 asks the system for a free port.
    package var port: Int

    package init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Whether the host is `localhost`, in 127.0.0.0/8, or `::1`.
    package var isLoopback: Bool {
        let host = self.host.lowercased()
        if host == "localhost" || host.hasSuffix(".localhost") { return true }
        if host.hasPrefix("127."), AddressSyntax.isIPv4(host) { return true }
        if host.contains(":") { return AddressSyntax.isIPv6Loopback(host) }
        return false
    }

    /// Whether the host is written as an IPv6 address.
    package var isIPv6: Bool { self.host.contains(":") }

    /// `host:port`, with brackets around IPv6 hosts.
    package var description: String {
        self.isIPv6 ? "[\(self.host)]:\(self.port)" : "\(self.host):\(self.port)"
    }
}

// MARK: - Upstream

extension ProxyConfig {
    /// `upstream`: how to reach Amazon Q and its OIDC service.
    package struct Upstream: Sendable, Equatable {
        /// `endpoint`: the Amazon Q service URL.
        package var endpoint: URL
        /// `oidc_endpoint`: the OIDC service URL (`/token`, `/client/register`, `/device_authorization`).
        package var oidcEndpoint: URL
        /// `kiro_auth_endpoint`: Kiro's desktop auth service (`POST /refreshToken`) for every `kind: kiro` account;
        /// `nil` (from `""`, the default) means each account's region's, `https://prod.<region>.auth.desktop.kiro.dev`.
        package var kiroAuthEndpoint: URL?
        /// `proxy`: an HTTP proxy for upstream traffic; `nil` when `""`.
        package var proxy: URL?
        /// `connect_timeout`.
        package var connectTimeout: Duration
        /// `read_timeout`.
        package var readTimeout: Duration
        /// `template`: the request template's path, resolved against the configuration file's directory;
        /// `nil` (from `""`) means the built-in template. Its text is in ``ProxyConfig/templateSource``.
        package var templatePath: String?

        package static let defaultEndpoint = URL(string: "https://q.us-east-1.amazonaws.com/")!
        package static let defaultOIDCEndpoint = URL(string: "https://oidc.us-east-1.amazonaws.com")!

        /// Where a `kind: kiro` account refreshes: `kiro_auth_endpoint` when set, else Kiro's desktop auth service
        /// in the account's region (us-east-1 by default).
        package func kiroAuthEndpoint(region: String?) -> URL {
            if let kiroAuthEndpoint { return kiroAuthEndpoint }
            return URL(string: "https://prod.\(region ?? "us-east-1").auth.desktop.kiro.dev")!
        }

        package init(
            endpoint: URL = Upstream.defaultEndpoint,
            oidcEndpoint: URL = Upstream.defaultOIDCEndpoint,
            kiroAuthEndpoint: URL? = nil,
            proxy: URL? = nil,
            connectTimeout: Duration = .seconds(15),
            readTimeout: Duration = .seconds(300),
            templatePath: String? = nil
        ) {
            self.endpoint = endpoint
            self.oidcEndpoint = oidcEndpoint
            self.kiroAuthEndpoint = kiroAuthEndpoint
            self.proxy = proxy
            self.connectTimeout = connectTimeout
            self.readTimeout = readTimeout
            self.templatePath = templatePath
        }
    }
}

// MARK: - Balancing

extension ProxyConfig {
    /// `balancing`: how requests are spread over accounts and when an account is rested.
    package struct Balancing: Sendable, Equatable {
        /// `strategy`.
        package var strategy: Strategy
        /// `retries`: how many other accounts a failed request may be retried on (>= 0).
        package var retries: Int
        /// `max_errors`: errors within ``errorWindow`` that put an account into cooldown (>= 1).
        package var maxErrors: Int
        /// `error_window`.
        package var errorWindow: Duration
        /// `cooldown`: how long a throttled account rests the first time; each further throttle in a row
        /// doubles it (with up to 20 % jitter), up to ``maxCooldown``. A retry hint from the upstream that
        /// asks for longer wins.
        package var cooldown: Duration
        /// `max_cooldown`: the longest a throttled account rests.
        package var maxCooldown: Duration
        /// `affinity_ttl`: how long a session (`X-Claude-Code-Session-Id`, else `metadata.user_id`) stays
        /// on its account after its last request; `0s` turns session affinity off.
        package var affinityTTL: Duration

        /// The account selection strategy; raw values are the YAML spellings.
        package enum Strategy: String, Sendable, Hashable, CaseIterable {
            case random
            case roundRobin = "round_robin"
            case leastInflight = "least_inflight"
            case weighted
        }

        package init(
            strategy: Strategy = .random,
            retries: Int = 2,
            maxErrors: Int = 100,
            errorWindow: Duration = .seconds(600),
            cooldown: Duration = .seconds(10),
            maxCooldown: Duration = .seconds(600),
            affinityTTL: Duration = .seconds(1800)
        ) {
            self.strategy = strategy
            self.retries = retries
            self.maxErrors = maxErrors
            self.errorWindow = errorWindow
            self.cooldown = cooldown
            self.maxCooldown = maxCooldown
            self.affinityTTL = affinityTTL
        }
    }
}

// MARK: - Refresh

extension ProxyConfig {
    /// `refresh`: when access tokens are refreshed.
    package struct Refresh: Sendable, Equatable {
        /// `before_expiry`: refresh this long before the access token expires.
        package var beforeExpiry: Duration
        /// `jitter`: a random extra delay of up to this much, so accounts do not refresh together.
        package var jitter: Duration

        package init(beforeExpiry: Duration = .seconds(300), jitter: Duration = .seconds(30)) {
            self.beforeExpiry = beforeExpiry
            self.jitter = jitter
        }
    }
}

// MARK: - Limits

extension ProxyConfig {
    /// `limits`.
    package struct Limits: Sendable, Equatable {
        /// `max_body`: the largest request body accepted, in bytes.
        package var maxBody: Int
        /// `context_tokens`: the context window size reported to clients and used for trimming.
        package var contextTokens: Int
        /// `body_timeout`: the longest a request body may take to arrive once its headers have; a client that
        /// trickles or stalls its body gets a 408 and loses the connection instead of holding it.
        package var bodyTimeout: Duration

        package init(maxBody: Int = 20 * 1024 * 1024, contextTokens: Int = 200_000, bodyTimeout: Duration = .seconds(60)) {
            self.maxBody = maxBody
            self.contextTokens = contextTokens
            self.bodyTimeout = bodyTimeout
        }
    }
}

// MARK: - Log

extension ProxyConfig {
    /// `log`.
    package struct Log: Sendable, Equatable {
        /// `level`.
        package var level: Level
        /// `format`.
        package var format: Format

        /// Log levels, in swift-log's order; raw values are the YAML spellings (and swift-log's case names).
        package enum Level: String, Sendable, Hashable, CaseIterable {
            case trace, debug, info, notice, warning, error, critical
        }

        /// Log line formats.
        package enum Format: String, Sendable, Hashable, CaseIterable {
            case text, json
        }

        package init(level: Level = .info, format: Format = .text) {
            self.level = level
            self.format = format
        }
    }
}
