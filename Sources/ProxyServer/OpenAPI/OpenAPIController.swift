import Accounts
import Hummingbird
import Logging
import NIOCore
import Upstream

/// `GET /openapi.yaml`: the OpenAPI document of the whole HTTP surface, public like `/healthz`.
///
/// The document is `OpenAPI/openapi.yaml` beside this file, compiled into the binary as the string literal
/// that `scripts/embed-assets` writes to `OpenAPIDocument+Text.swift` (a test holds the two equal), so the
/// server always serves the document of its own build and no file has to be found at run time. It is registered before the API-key
/// middleware (Hummingbird applies a router's middleware to the routes added after it), which is
/// what makes it public.
package struct OpenAPIController: Sendable {
    /// `application/yaml` (RFC 9512).
    package static let contentType = "application/yaml"
    /// The document's bytes, as built into the binary.
    package static let document = ByteBuffer(string: text)

    package init() {}

    package func addRoutes(to router: Router<ProxyRequestContext>) {
        router.get("/openapi.yaml", use: serve)
    }

    @Sendable func serve(_ request: Request, context: ProxyRequestContext) async throws -> Response {
        Response(status: .ok, headers: [.contentType: Self.contentType, .cacheControl: "no-cache"], body: .init(byteBuffer: Self.document))
    }

    /// Every route of the server's router, as `GET /v1/models/{id}` (OpenAPI's path syntax), sorted; for the
    /// test that holds the document to the router, so that a new route cannot go undocumented.
    ///
    /// The router is built on a scratch runtime with no account, whose HTTP client never connects.
    package static func routerRoutes() async throws -> [String] {
        let http = try UpstreamHTTPClient(settings: .init())
        let pool = AccountPool(
            accounts: [], refresher: { _ throws(TokenRefreshError) in throw TokenRefreshError(isPermanent: true, message: "not used") })
        let runtime = ProxyRuntime(settings: ServerSettings(), pool: pool, qClient: AmazonQClient(http: http), logger: Logger(label: "q2api.routes"))
        let routes = ProxyServerBuilder.router(runtime: runtime).routes.map { "\($0.method.rawValue) \($0.path)" }
        try await http.shutdown()
        return routes.sorted()
    }
}
