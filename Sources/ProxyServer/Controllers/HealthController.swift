import Accounts
import Hummingbird
import ProxyConfig
import ProxyModels

/// `GET /healthz` (alias `/health`) and `/readyz`: never touches the upstream.
///
/// Without a key, on a listener bound to a non-loopback address, the body holds the status and counts only: no
/// account id, label, state reason, per-account counter, config path or reload error text (which names the file).
/// An admin key, or a listener bound to loopback (where `/metrics` is open too), gets the details: every account
/// and the config's path and last reload error. `HEAD` answers the same status without a body.
package struct HealthController: Sendable {
    let runtime: ProxyRuntime

    package init(runtime: ProxyRuntime) {
        self.runtime = runtime
    }

    package func addRoutes(to router: Router<ProxyRequestContext>) {
        for path in ["/healthz", "/health"] {
            router.get(RouterPath(path), use: health)
            router.head(RouterPath(path), use: headHealth)
        }
        router.get("/readyz", use: ready)
        router.head("/readyz", use: headReady)
    }

    /// Whether this request may see the details: an admin key, or a loopback listener.
    static func showsDetails(_ context: ProxyRequestContext) -> Bool {
        context.isAdmin || context.listenerIsLoopback
    }

    @Sendable func health(_ request: Request, context: ProxyRequestContext) async throws -> Response {
        JSONResponse.make(status(detailed: Self.showsDetails(context)))
    }

    @Sendable func ready(_ request: Request, context: ProxyRequestContext) async throws -> Response {
        let body = status(detailed: Self.showsDetails(context))
        return JSONResponse.make(body, status: readyStatus)
    }

    @Sendable func headHealth(_ request: Request, context: ProxyRequestContext) async throws -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"])
    }

    @Sendable func headReady(_ request: Request, context: ProxyRequestContext) async throws -> Response {
        Response(status: readyStatus, headers: [.contentType: "application/json"])
    }

    var readyStatus: HTTPResponse.Status { runtime.pool.usableCount > 0 ? .ok : .serviceUnavailable }

    /// The body of `/healthz` and `/readyz`: the public part (status and counts), and with `detailed` every
    /// account and the config file's path and reload error.
    func status(detailed: Bool) -> JSONValue {
        let settings = runtime.settings
        let accounts = runtime.pool.snapshot()
        var byState: [String: Int] = [:]
        for account in accounts { byState[account.health.name, default: 0] += 1 }
        let lastError = runtime.reloadStatus.lastError
        var accountsJSON: [JSONMember] = [
            JSONMember("usable", .int(runtime.pool.usableCount)), JSONMember("total", .int(accounts.count)),
            JSONMember("by_state", .object(byState.sorted { $0.key < $1.key }.map { JSONMember($0.key, .int($0.value)) })),
        ]
        var configJSON: [JSONMember] = [
            JSONMember("generation", .int(settings.configGeneration)), JSONMember("last_reload_failed", .bool(lastError != nil)),
        ]
        if detailed {
            accountsJSON.append(JSONMember("items", .array(accounts.map { Self.row($0, source: runtime.persistence?.source(of: $0.id)) })))
            configJSON += [
                JSONMember("path", .string(settings.configPath)),
                JSONMember("last_reload_error", lastError.map(JSONValue.string) ?? .null),
                JSONMember(
                    "last_reload_success", runtime.reloadStatus.lastSuccessUnixTime.map { JSONValue.double($0.rounded()) } ?? .null),
            ]
        }
        return [
            "status": "ok",
            "accounts": .object(accountsJSON),
            "shard": runtime.config.map { ["index": .int($0.shard.index), "count": .int($0.shard.count)] } ?? .null,
            "config": .object(configJSON),
        ]
    }
    /// One account in `/healthz`: never a token or a secret.
    static func row(_ account: AccountSnapshot, source: AccountListing.Source?) -> JSONValue {
        let status = account.status
        return [
            "id": .string(account.id), "label": .string(account.label), "source": .string(source?.rawValue ?? "yaml"),
            "state": .string(status.health.name),
            "reason": status.reason.map(JSONValue.string) ?? .null, "since": .string(status.since.description),
            "until": status.health.until.map { JSONValue.string($0.description) } ?? .null,
            "last_error": status.lastError.map(JSONValue.string) ?? .null, "in_flight": .int(account.inFlight),
            "successes": .int(account.successes), "failures": .int(account.failures),
            "token_expires": account.tokenExpiresAt.map { JSONValue.string($0.description) } ?? .null,
        ]
    }
}
