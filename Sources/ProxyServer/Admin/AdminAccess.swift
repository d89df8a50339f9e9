import HTTPTypes
import Hummingbird

/// Which paths belong to the admin surface (the `/v2` API and the console: its page and its `/console/...` files),
/// guarded by `admin_keys` instead of `api_keys`.
enum AdminAccess {
    static func isAdminPath(_ path: String) -> Bool {
        path == "/" || path == "/console" || path.hasPrefix("/console/") || path.hasPrefix("/v2/") || path == "/v2"
    }

    /// Whether the admin surface is on for this request at all: admin keys are configured, or
    /// `admin_open_on_loopback` allows a loopback client without one.
    static func isEnabled(_ settings: ServerSettings, context: ProxyRequestContext) -> Bool {
        !settings.adminKeys.isEmpty || (settings.adminOpenOnLoopback && context.remoteIsLoopback)
    }
}

/// Guards `/v2`: off (404) without admin keys (unless loopback is allowed), 401 without a valid key.
struct AdminGuardMiddleware: RouterMiddleware {
    typealias Context = ProxyRequestContext
    let runtime: ProxyRuntime

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let settings = runtime.settings
        guard AdminAccess.isEnabled(settings, context: context) else {
            throw AdminError(.notFound, "not_found", "the admin API is off: add admin_keys to q2api.yaml (or admin_open_on_loopback: true)")
        }
        var context = context
        if settings.adminKeys.isEmpty {
            context.isAdmin = true
            context.adminKeyID = "loopback"
        }
        guard context.isAdmin else {
            throw AdminError(
                .unauthorized, "authentication_error",
                APIKeyMiddleware.presentedKey(request) == nil
                    ? "missing admin key: send it as Authorization: Bearer or x-admin-key" : "invalid admin key")
        }
        return try await next(request, context)
    }
}
