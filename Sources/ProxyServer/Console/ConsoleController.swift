import HTTPTypes
import Hummingbird
import NIOCore

/// `GET /` (and `/console`): the web console page; `GET /console/console.css` and `GET /console/console.js`: its
/// styles and script. None of them holds a secret, so they are served without a key; everything the page shows
/// comes from the `/v2` API, which checks the admin key the user signs in with. All three are 404 while the
/// console is off.
struct ConsoleController: Sendable {
    let runtime: ProxyRuntime

    /// Scripts and styles from this origin only, none inline: an injected `<script>`, `<style>`, `style=` or
    /// `onclick=` does not run. `data:` images are the page's icon.
    static let contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:"

    func addRoutes(to router: Router<ProxyRequestContext>) {
        router.get("/", use: page)
        router.get("/console", use: page)
        router.get("/console/console.css") { _, context in try serve(ConsolePage.styles, context: context) }
        router.get("/console/console.js") { _, context in try serve(ConsolePage.script, context: context) }
    }

    @Sendable func page(_ request: Request, context: ProxyRequestContext) async throws -> Response {
        var response = try serve(ConsolePage.page, context: context)
        response.headers[.cacheControl] = "no-store"
        response.headers[HTTPField.Name("content-security-policy")!] = Self.contentSecurityPolicy
        response.headers[HTTPField.Name("x-frame-options")!] = "DENY"
        response.headers[HTTPField.Name("referrer-policy")!] = "no-referrer"
        return response
    }

    /// One of the console's files, or 404 while the console is off. `no-cache`: the browser asks again on each
    /// load, so a restarted server's new script and styles are picked up with its new page.
    private func serve(_ asset: ConsolePage.Asset, context: ProxyRequestContext) throws -> Response {
        let settings = runtime.settings
        guard settings.console, AdminAccess.isEnabled(settings, context: context) else {
            throw AdminError(.notFound, "not_found", "the console is off: it needs console: true and admin_keys in q2api.yaml")
        }
        return Response(
            status: .ok,
            headers: [.contentType: asset.contentType, .cacheControl: "no-cache", HTTPField.Name("x-content-type-options")!: "nosniff"],
            body: .init(byteBuffer: asset.body))
    }
}
