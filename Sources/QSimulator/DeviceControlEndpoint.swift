import HTTPTypes
import Hummingbird
import NIOCore
import ProxyModels

/// `/__sim/device...`: stands in for the browser page where a person approves a device login, so that the
/// device flow can run end to end against the simulator.
///
/// - `GET /__sim/device?user_code=X`: the page `verificationUriComplete` points at, with Approve and Deny
///   buttons.
/// - `POST /__sim/device/approve` and `POST /__sim/device/deny`: decide the authorization whose user code
///   is given as `?user_code=X` or as the JSON body `{"userCode": "X"}`, or every pending one when neither
///   is given. A test may call ``SimulatorState/approveDevice(userCode:)`` directly instead.
enum DeviceControlEndpoint {
    static let approvePath = "/__sim/device/approve"
    static let denyPath = "/__sim/device/deny"

    /// `GET /__sim/device`: a small HTML page whose buttons post to the approve and deny endpoints.
    static func page(_ request: Request) -> Response {
        let userCode = request.uri.queryParameters["user_code"].map(String.init) ?? ""
        let query = userCode.isEmpty ? "" : "?user_code=" + Self.percentEncoded(userCode)
        let shown = userCode.isEmpty ? "every pending login" : "user code <b>\(Self.htmlEscaped(userCode))</b>"
        let html = """
            <!doctype html>
            <html><head><meta charset="utf-8"><title>q2api simulator: device login</title></head>
            <body style="font-family: sans-serif; margin: 3em">
            <h1>Approve device login</h1>
            <p>q2api simulator: approve or deny \(shown).</p>
            <form method="post" action="\(Self.approvePath)\(query)" style="display: inline"><button>Approve</button></form>
            <form method="post" action="\(Self.denyPath)\(query)" style="display: inline"><button>Deny</button></form>
            </body></html>
            """
        return Self.html(.ok, html)
    }

    /// `POST /__sim/device/approve`.
    static func approve(_ request: Request, state: SimulatorState) async throws -> Response {
        try await Self.decide(request, verb: "approved") { state.approveDevice(userCode: $0) }
    }

    /// `POST /__sim/device/deny`.
    static func deny(_ request: Request, state: SimulatorState) async throws -> Response {
        try await Self.decide(request, verb: "denied") { state.denyDevice(userCode: $0) }
    }

    /// Reads the user code, applies `decision`, and answers `{"<verb>": count}`, or an HTML page to a
    /// browser. A named user code that matched nothing pending is a 404, so that a test notices a typo.
    private static func decide(_ request: Request, verb: String, _ decision: (String?) -> Int) async throws -> Response {
        var userCode = request.uri.queryParameters["user_code"].map(String.init)
        let buffer = try await request.body.collect(upTo: TokenEndpoint.maximumBodySize)
        if userCode == nil, buffer.readableBytes > 0 {
            guard let body = try? JSONParser.parse(Array(buffer.readableBytesView)), case .object = body else {
                return TokenEndpoint.error(.badRequest, "invalid_request", "Request body is not a JSON object")
            }
            userCode = body["userCode"]?.stringValue
        }
        let count = decision(userCode)
        let browser = request.headers[.accept]?.contains("text/html") == true
        if let userCode, count == 0 {
            let message = "No pending device authorization has user code \(userCode)"
            return browser
                ? Self.html(.notFound, "<!doctype html><p>\(Self.htmlEscaped(message)).</p>")
                : TokenEndpoint.error(.notFound, "not_found", message)
        }
        if browser {
            return Self.html(.ok, "<!doctype html><p>Device login \(verb) (\(count)). You can close this page.</p>")
        }
        return TokenEndpoint.json(.ok, .object([JSONMember(verb, .int(count))]))
    }

    private static func html(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(
            status: status, headers: [.contentType: "text/html; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    private static func htmlEscaped(_ text: String) -> String {
        var escaped = ""
        for character in text {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.append(character)
            }
        }
        return escaped
    }

    /// Keeps letters, digits and `-` (all a user code holds); encodes every other byte.
    private static func percentEncoded(_ text: String) -> String {
        var encoded = ""
        for byte in text.utf8 {
            let kept =
                (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "-")
            encoded += kept ? String(UnicodeScalar(byte)) : "%" + (byte < 16 ? "0" : "") + String(byte, radix: 16, uppercase: true)
        }
        return encoded
    }
}
