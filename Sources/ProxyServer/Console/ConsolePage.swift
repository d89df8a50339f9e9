import NIOCore

/// The web console's three files, as built into the binary: the page (`GET /`, `GET /console`), its styles
/// (`GET /console/console.css`) and its script (`GET /console/console.js`).
///
/// They are `Assets/console.html`, `Assets/console.css` and `Assets/console.js` beside this file, compiled in as
/// the string literals that `scripts/embed-assets` writes to `ConsolePage+Text.swift` (a test holds them equal to
/// the files), so the server always serves the console of its own build and no file has to be found at run time.
/// The page loads the other two from its own origin and has no inline script, style or event handler, which is
/// what lets its CSP leave out `'unsafe-inline'`. What the script does is described at the top of `console.js`.
package enum ConsolePage {
    /// One of the console's files: its content type and its bytes.
    package struct Asset: Sendable {
        package let contentType: String
        package let body: ByteBuffer
    }

    package static let page = Asset(contentType: "text/html; charset=utf-8", body: ByteBuffer(string: html))
    package static let styles = Asset(contentType: "text/css; charset=utf-8", body: ByteBuffer(string: css))
    /// `text/javascript`, the type RFC 9239 keeps for JavaScript.
    package static let script = Asset(contentType: "text/javascript; charset=utf-8", body: ByteBuffer(string: javascript))
}
