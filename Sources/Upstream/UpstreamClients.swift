import Synchronization

/// The process's HTTP clients: the shared one (`upstream.proxy`) and one per distinct per-account proxy.
///
/// An account with its own `proxy` sends both its Amazon Q requests and its token refreshes through it;
/// accounts sharing a proxy share its connection pool. Clients are created on first use and live until
/// ``shutdown()``: a reload that drops a proxy leaves an idle pool behind, which is cheap and avoids
/// cutting a stream that is still using it.
package final class UpstreamClients: Sendable {
    /// The client of every account without a proxy of its own.
    package let shared: UpstreamHTTPClient
    private let byProxy = Mutex<[String: UpstreamHTTPClient]>([:])

    package init(settings: UpstreamHTTPClient.Settings) throws(UpstreamConfigurationError) {
        self.shared = try UpstreamHTTPClient(settings: settings)
    }

    /// The client for an account's proxy; `nil` or `""` is the shared client.
    package func client(proxy: String?) throws(UpstreamConfigurationError) -> UpstreamHTTPClient {
        guard let proxy, !proxy.isEmpty, proxy != shared.settings.proxy else { return shared }
        if let existing = byProxy.withLock({ $0[proxy] }) { return existing }
        var settings = shared.settings
        settings.proxy = proxy
        let created = try UpstreamHTTPClient(settings: settings)
        let (winner, loser) = byProxy.withLock { clients -> (UpstreamHTTPClient, UpstreamHTTPClient?) in
            if let existing = clients[proxy] { return (existing, created) }
            clients[proxy] = created
            return (created, nil)
        }
        if let loser { Task { try? await loser.shutdown() } }
        return winner
    }

    /// Shuts every client down (at the end of `serve`).
    package func shutdown() async {
        let all = byProxy.withLock { Array($0.values) } + [shared]
        for client in all { try? await client.shutdown() }
    }
}
