import Foundation
import NIOCore
import NIOHTTP1
import ProxyServer
import Testing

/// The web console's files (`Sources/ProxyServer/Console/Assets`): what the binary serves is what is in the source
/// tree, at its three URLs, under the console's CSP and gating. Its behaviour in a browser is
/// Tests/Conformance/test_console_browser.py.
@Suite("The web console's files")
struct ConsolePageTests {
    private static let adminKey = "admin-console-test"
    private static let assets: [(file: String, asset: ConsolePage.Asset, path: String)] = [
        ("console.html", ConsolePage.page, "/console"),
        ("console.css", ConsolePage.styles, "/console/console.css"),
        ("console.js", ConsolePage.script, "/console/console.js"),
    ]

    private static func source(_ name: String) throws -> String {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Sources/ProxyServer/Console/Assets/\(name)")
        return try String(contentsOf: url, encoding: .utf8)
    }

    @Test("the served files are the ones in the source tree (run scripts/embed-assets after editing them)")
    func embeddedIsCurrent() throws {
        for (file, asset, _) in Self.assets {
            #expect(String(buffer: asset.body) == (try Self.source(file)), "\(file) changed: run scripts/embed-assets")
        }
    }

    @Test("the page has nothing inline that its CSP would block: no <script> body, <style>, style= or on…= handler")
    func nothingInline() throws {
        let html = try Self.source("console.html")
        #expect(html.contains(#"<script src="/console/console.js"></script>"#))
        #expect(html.contains(#"<link rel="stylesheet" href="/console/console.css">"#))
        #expect(!html.contains(#/<script(?![^>]*\ssrc=)[^>]*>/#), "an inline <script>")
        #expect(!html.contains(#/<style[\s>]/#), "a <style> element")
        #expect(!html.contains(#/\sstyle\s*=/#), "a style attribute")
        #expect(!html.contains(#/\son[a-z]+\s*=/#), "an inline event handler")
        #expect(!html.contains("javascript:"), "a javascript: URL")
        // The script builds elements itself; it must not write a style attribute or parse markup either.
        let script = try Self.source("console.js")
        for blocked in ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "setAttribute('style'", "eval("] {
            #expect(!script.contains(blocked), "console.js uses \(blocked)")
        }
    }

    @Test("the page and its files are served without a key, with their types, caching and the strict CSP")
    func served() async throws {
        try await withProxy(extraYAML: "admin_keys: [\"\(Self.adminKey)\"]") { proxy in
            for (file, asset, path) in Self.assets {
                let reply = try await proxy.get(path, headers: [])
                #expect(reply.status == 200, "\(path): \(reply.status) \(reply.body.prefix(200))")
                #expect(reply.body == String(buffer: asset.body), "\(path) is not \(file)")
                #expect(reply.headers.first(name: "content-type") == asset.contentType, "\(path)")
                #expect(reply.headers.first(name: "x-content-type-options") == "nosniff", "\(path)")
            }
            let script = try await proxy.get("/console/console.js", headers: [])
            #expect(script.headers.first(name: "content-type") == "text/javascript; charset=utf-8")
            #expect(script.headers.first(name: "cache-control") == "no-cache")
            #expect(try await proxy.get("/console/console.css", headers: []).headers.first(name: "content-type") == "text/css; charset=utf-8")

            let page = try await proxy.get("/", headers: [])
            #expect(page.headers.first(name: "cache-control") == "no-store")
            let csp = try #require(page.headers.first(name: "content-security-policy"))
            #expect(csp == "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:")
            #expect(!csp.contains("unsafe"))
            #expect(page.headers.first(name: "x-frame-options") == "DENY")

            // Another name under /console/ is a plain 404: no file there, and no API key asked for.
            #expect(try await proxy.get("/console/nope.js", headers: []).status == 404)
        }
    }

    @Test("the files are off with the console: without admin_keys, and with console: false")
    func offWithTheConsole() async throws {
        for extraYAML in ["", "admin_keys: [\"\(Self.adminKey)\"]\nconsole: false"] {
            try await withProxy(extraYAML: extraYAML) { proxy in
                for (_, _, path) in Self.assets {
                    let reply = try await proxy.get(path, headers: [("authorization", "Bearer \(Self.adminKey)")])
                    #expect(reply.status == 404, "\(path) with \(extraYAML.debugDescription): \(reply.status)")
                }
            }
        }
    }
}
