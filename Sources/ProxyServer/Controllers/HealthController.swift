import Accounts
import Hummingbird
import ProxyConfig
import ProxyModels

/// `GET /healthz` (alias `/health`) and `/readyz`: never touches the upstream.
package struct HealthController: Sendable {
    let runtime: ProxyRuntime

    package init(runtime: ProxyRuntime) {
        self.runtime = runtime
    }

    package func addRoutes(to router: Router<ProxyRequestContext>) {
        router.get("/healthz", use: health)
        router.get("/health", use: health)
        router.get("/readyz", use: ready)
    }

    @Sendable func health(_ request: Request, context: ProxyRequestContext) async throws -> Response {
        MessagesController.jsonResponse(status())
    }

    @Sendable func ready(_ request: Request, context: ProxyRequestContext) async throws -> Response {
        let body = status()
        return MessagesController.jsonResponse(body, status: runtime.pool.usableCount > 0 ? .ok : .serviceUnavailable)
    }

    func status() -> JSONValue {
        let settings = runtime.settings
        let accounts = runtime.pool.snapshot()
        var byState: [String: Int] = [:]
        for account in accounts { byState[account.health.name, default: 0] += 1 }
        return [
            "status": "ok",
            "accounts": [
                "usable": .int(runtime.pool.usableCount), "total": .int(accounts.count),
                "by_state": .object(byState.sorted { $0.key < $1.key }.map { JSONMember($0.key, .int($0.value)) }),
                "items": .array(accounts.map { Self.row($0, source: runtime.persistence?.source(of: $0.id)) }),
            ],
            "shard": runtime.config.map { ["index": .int($0.shard.index), "count": .int($0.shard.count)] } ?? .null,
            "config": [
                "generation": .int(settings.configGeneration), "path": .string(settings.configPath),
                "last_reload_error": runtime.reloadStatus.lastError.map(JSONValue.string) ?? .null,
                "last_reload_success": runtime.reloadStatus.lastSuccessUnixTime.map { JSONValue.double($0.rounded()) } ?? .null,
            ],
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
