import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// The one pooled HTTP client of the process, shared by every account without a proxy of its own.
///
/// Connections to the upstream are reused; `read_timeout` is an idle timeout between reads, so
/// a stalled stream fails while a long but live one does not.
package final class UpstreamHTTPClient: Sendable {
    package struct Settings: Sendable, Equatable {
        package var connectTimeout: Duration
        package var readTimeout: Duration
        /// `http://host:port` or `http://user:password@host:port` (basic proxy authentication), or nil.
        package var proxy: String?

        package init(connectTimeout: Duration = .seconds(15), readTimeout: Duration = .seconds(300), proxy: String? = nil) {
            self.connectTimeout = connectTimeout
            self.readTimeout = readTimeout
            self.proxy = proxy
        }
    }

    /// Upstream connections kept per host: the most streams the proxy can have open to one endpoint at once.
    package static let maximumConnectionsPerHost = 4096

    let client: HTTPClient
    package let settings: Settings

    package init(settings: Settings) throws(UpstreamConfigurationError) {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .init(settings.connectTimeout), read: .init(settings.readTimeout))
        // Short idle time: pooled connections the upstream has silently dropped hung requests in other proxies.
        // AsyncHTTPClient's default of 8 connections per host would queue every stream beyond the eighth: a proxy
        // needs one upstream connection per open stream.
        configuration.connectionPool = .init(idleTimeout: .seconds(20), concurrentHTTP1ConnectionsPerHostSoftLimit: Self.maximumConnectionsPerHost)
        if let proxy = settings.proxy, !proxy.isEmpty {
            guard let url = URL(string: proxy), let host = url.host, url.scheme == "http" else {
                throw UpstreamConfigurationError(message: "proxy must look like http://host:port")
            }
            if let user = url.user, !user.isEmpty {
                let password = url.password ?? ""
                configuration.proxy = .server(
                    host: host, port: url.port ?? 80,
                    authorization: .basic(username: user.removingPercentEncoding ?? user, password: password.removingPercentEncoding ?? password))
            } else {
                configuration.proxy = .server(host: host, port: url.port ?? 80)
            }
        }
        self.client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        self.settings = settings
    }

    package func shutdown() async throws {
        try await client.shutdown()
    }

    /// Sends a small request (a token refresh) and reads its whole reply, up to 1 MiB, within 60 s. The caller
    /// classifies what any error means for its service.
    package func exchange(_ request: HTTPClientRequest, logger: Logger) async throws -> (status: Int, body: [UInt8]) {
        let response = try await client.execute(request, deadline: .now() + .seconds(60), logger: logger.forHTTPClient)
        var collected = try await response.body.collect(upTo: 1024 * 1024)
        return (Int(response.status.code), collected.readBytes(length: collected.readableBytes) ?? [])
    }
}

extension Logger {
    /// The logger handed to AsyncHTTPClient: never below `debug`, because at `trace` it dumps the first and last
    /// bytes of every body, which hold tokens and conversation text.
    package var forHTTPClient: Logger {
        guard logLevel < .debug else { return self }
        var capped = self
        capped.logLevel = .debug
        return capped
    }
}

package struct UpstreamConfigurationError: Error, Sendable, CustomStringConvertible {
    package var message: String
    package var description: String { message }
}
