import Foundation
import HTTPTypes
import Hummingbird
import Logging
import ProxyConfig
import ProxyModels

/// `GET /v2/config` (the loaded config, secrets redacted, with its generation and the last reload) and
/// `POST /v2/reload` (what SIGHUP does, answering with the diff or the validation error).
struct ConfigAdminController: Sendable {
    let runtime: ProxyRuntime

    func addRoutes(to group: RouterGroup<ProxyRequestContext>) {
        group.get("config", use: show)
        group.post("reload", use: reload)
    }

    @Sendable func show(_ request: Request, context: ProxyRequestContext) async throws -> Response {
        let settings = runtime.settings
        let status = runtime.reloadStatus
        return AdminJSON.response([
            "generation": .int(settings.configGeneration),
            "source_path": .string(settings.configPath),
            "last_reload_at": status.lastSuccessUnixTime.map { .string(Date(timeIntervalSince1970: $0).formatted(.iso8601)) } ?? .null,
            "last_error": status.lastError.map(JSONValue.string) ?? .null,
            "reloads": .int(status.reloads),
            "failed_reloads": .int(status.failures),
            "config": runtime.config?.redactedJSON ?? .null,
        ])
    }

    @Sendable func reload(_ request: Request, context: ProxyRequestContext) async throws -> Response {
        runtime.logger.notice("admin: reload requested", metadata: ["admin.key": "\(context.adminKeyID ?? "-")"])
        switch await runtime.reloadNow() {
        case .reloaded(let generation, let changes, let warnings):
            return AdminJSON.response([
                "status": "reloaded", "generation": .int(generation), "changes": .string(changes),
                "warnings": .array(warnings.map(JSONValue.string)),
            ])
        case .rejected(let error):
            throw AdminError(.init(code: 422), "invalid_config", error)
        case .refused(let error):
            throw AdminError(.conflict, "reload_refused", error)
        case .unsettled(let error):
            throw AdminError(.conflict, "config_changing", error)
        case nil:
            throw AdminError(.serviceUnavailable, "unavailable", "the server is shutting down")
        }
    }
}
