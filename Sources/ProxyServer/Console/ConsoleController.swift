import HTTPTypes
import Hummingbird
import NIOCore

/// `GET /` (and `/console`): the web console page. The page holds no secret, so it is served without a key;
/// everything it shows comes from the `/v2` API, which checks the admin key the user signs in with.
struct ConsoleController: Sendable {
    let runtime: ProxyRuntime

    func addRoutes(to router: Router<ProxyRequestContext>) {
        router.get("/", use: page)
        router.get("/console", use: page)
    }

    @Sendable func page(_ request: Request, context: ProxyRequestContext) async throws -> Response {
        let settings = runtime.settings
        guard settings.console, AdminAccess.isEnabled(settings, context: context) else {
            throw AdminError(.notFound, "not_found", "the console is off: it needs console: true and admin_keys in q2api.yaml")
        }
        return Response(
            status: .ok,
            headers: [
                .contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
                .init("content-security-policy")!: "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self' data:",
                .init("x-frame-options")!: "DENY", .init("referrer-policy")!: "no-referrer",
            ],
            body: .init(byteBuffer: Self.body))
    }

    private static let body = ByteBuffer(string: ConsolePage.html)
}
