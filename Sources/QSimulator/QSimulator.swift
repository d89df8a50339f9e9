import Hummingbird
import Logging
import NIOCore

/// A stand-in for Amazon Q's streaming endpoint and the SSO OIDC service, on one port.
///
/// Every end-to-end test, demo and benchmark runs the real proxy against it. It checks requests as the
/// real service does (AMAZON_Q.md §1-§2, §9), answers in the real wire format (§4-§6, §7), and lets
/// the prompt script the reply through directives, `[[sim:NAME]]` or `[[sim:NAME:ARG]]`, found anywhere in
/// the current message's content or its tool results' text:
///
/// | directive | reply |
/// |---|---|
/// | `text:TEXT` | exactly TEXT, in events of at most 5 characters (`text:` alone sends no text) |
/// | `tool:NAME:{json}` | "Calling NAME." (unless text came first), then a tool call: start, the JSON in 3 raw fragments, `stop`. Several run in order; the text names them all, comma-separated |
/// | `long:N` | N characters of lorem ipsum in 12-character events |
/// | `echo` | the text between `--- USER MESSAGE BEGIN ---\n` and `\n--- USER MESSAGE END ---`, or the whole content |
/// | `say:{"text":"TEXT"}` | exactly TEXT, a JSON string, so it may contain `]]` and directives (for a reply the client will send back) |
/// | `recall:NEEDLE` | "Recalled from the history: NEEDLE" when a history message contains NEEDLE, else "Not in the history: NEEDLE" |
/// | `plan:{"steps":[STEP, ...], "when":{TEXT: STEP}}` | scripts a whole agent loop up front: each STEP is a string of directives, and reply N after the plan's message plays step N (below) |
/// | `thinking` | `<thinking>I should answer briefly.</thinking>\n\nThe answer is 42.`, tags split across events |
/// | `hold` | "Held: ", then waits for ``SimulatorState/releaseHeld()`` or `POST /__sim/release`, then "released." |
/// | `delay:MS` | MS milliseconds between frames (overrides `frameDelay`) |
/// | `usage` | a `metadataEvent` with token usage before the closing `messageMetadataEvent` |
/// | `exception` | "Let me think about", " that", then a `ThrottlingException` exception frame; ends |
/// | `reset` | a few text events, then the connection is aborted mid-body |
/// | `corrupt` | a text event, then one with a bad message CRC; ends |
/// | `toolcut:NAME` | text, then a tool call that stops inside its first input fragment, without `stop`; ends |
/// | `throttle` / `monthly` / `suspend` / `expired` / `overloaded` / `unavailable` / `toolong` | the matching HTTP error (429 / 400 / 403 / 403 / 500 / 503 / 400) instead of a stream |
///
/// A plan lets one prompt script every turn of an agent loop, even when the tool output fed back carries
/// no marker (a file-write confirmation, a sub-agent's answer):
///
/// ```text
/// [[sim:plan:{"steps":["[[sim:tool:Write:{\"file_path\":\"/p/a.txt\",\"content\":\"hi\"}]]",
///                      "[[sim:tool:Read:{\"file_path\":\"/p/a.txt\"}]]", "[[sim:text:done]]"]}]]
/// ```
///
/// The simulator takes the most recent user message of the request (history or current message, content or
/// tool results' text) that carries a `plan:`, counts the assistant messages after it (the replies the plan
/// has scripted so far), and plays that step's directives. So the leading system-prompt pair and earlier
/// turns do not shift the count, text folded into the plan's user turn does not matter, a retried request
/// gets the same step again, and nothing is remembered between requests (concurrent sessions and sub-agents
/// each follow their own plan). Directives of the current message itself other than `plan:` win over the
/// plan's step. The optional `when` object maps a text to a step: a later request whose current message
/// contains that text plays it instead of its own step, for requests the client makes by itself at a
/// point the test cannot predict (Claude Code's summary request when it compacts its context). An empty
/// step, and every reply once all steps were played, is the default reply (which quotes the tool results). A plan whose argument is not
/// `{"steps": [strings], "when": {text: string}}` is answered with a text that says so
/// (``AgentPlan``).
///
/// With no directive the reply lists the current tool results, if any, or else is
/// ``SimulatorOptions/defaultReply``.
///
/// Kiro's desktop auth service is `POST /refreshToken` (``KiroAuthEndpoint``): a `kind: kiro` account refreshes
/// there, and `POST /` then checks its requests the way the Kiro runtime does (a `profileArn`, Kiro user agents).
///
/// The OIDC device login (§7.2-§7.4) works end to end: register a client, start a device authorization,
/// and poll `/token`. The poll answers `authorization_pending` until the user code is approved, through
/// the page at `verificationUriComplete`, `POST /__sim/device/approve`, ``SimulatorState/approveDevice(userCode:)``
/// or ``SimulatorOptions/autoApproveDeviceAfterPolls``.
///
/// ```swift
/// let state = SimulatorState()
/// let app = QSimulator.application(
///     options: SimulatorOptions(refreshTokens: ["rt"]), state: state,
///     host: "127.0.0.1", port: 0, logger: logger, onBound: { port in print("listening on \(port)") }
/// )
/// try await app.runService()
/// ```
package enum QSimulator {
    /// The routes of the simulator: `POST /` (Q); `POST /token`, `/client/register` and
    /// `/device_authorization` (OIDC); and `/__sim/` controls, including the device-login page.
    ///
    /// - Parameters:
    ///   - options: What the simulator accepts and how it paces replies.
    ///   - state: Counters and controls shared with the caller.
    package static func router(options: SimulatorOptions, state: SimulatorState) -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.post("/") { request, _ in
            try await AssistantEndpoint.respond(to: request, options: options, state: state)
        }
        router.get("/ListAvailableModels") { request, _ in
            ModelsEndpoint.respond(to: request, options: options, state: state)
        }
        router.post("/token") { request, _ in
            try await TokenEndpoint.respond(to: request, options: options, state: state)
        }
        router.post("/refreshToken") { request, _ in
            try await KiroAuthEndpoint.respond(to: request, options: options, state: state)
        }
        router.post("/client/register") { request, _ in
            try await ClientRegistrationEndpoint.respond(to: request, state: state)
        }
        router.post("/device_authorization") { request, _ in
            try await DeviceAuthorizationEndpoint.respond(to: request, options: options, state: state)
        }
        router.get("/__sim/state") { _, _ in
            ControlEndpoint.stateResponse(state)
        }
        router.post("/__sim/release") { _, _ in
            ControlEndpoint.release(state)
        }
        router.post("/__sim/expire-tokens") { _, _ in
            ControlEndpoint.expireTokens(state)
        }
        router.get(RouterPath(DeviceAuthorizationEndpoint.verificationPath)) { request, _ in
            DeviceControlEndpoint.page(request)
        }
        router.post(RouterPath(DeviceControlEndpoint.approvePath)) { request, _ in
            try await DeviceControlEndpoint.approve(request, state: state)
        }
        router.post(RouterPath(DeviceControlEndpoint.denyPath)) { request, _ in
            try await DeviceControlEndpoint.deny(request, state: state)
        }
        return router
    }

    /// An HTTP/1.1 server for ``router(options:state:)`` on `host`:`port`.
    ///
    /// - Parameters:
    ///   - port: The port to listen on; 0 picks a free one, reported through `onBound`.
    ///   - onBound: Called once the server listens, with the actual port.
    package static func application(
        options: SimulatorOptions,
        state: SimulatorState,
        host: String,
        port: Int,
        logger: Logger,
        onBound: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        Application(
            router: Self.router(options: options, state: state),
            configuration: ApplicationConfiguration(
                address: .hostname(host, port: port),
                serverName: "q2api-simulator",
                backlog: 4096
            ),
            onServerRunning: { channel in
                await onBound(channel.localAddress?.port ?? port)
            },
            logger: logger
        )
    }
}
