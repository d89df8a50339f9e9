import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import ProxyModels
import Testing
import Upstream

@testable import QSimulator

/// Calls of the OIDC device login (AMAZON_Q.md §7.2-§7.4) against a simulator under test.
private enum Device {
    /// `POST uri` with a JSON body; returns the status and the parsed reply.
    static func post(_ client: some TestClientProtocol, _ uri: String, _ body: JSONValue) async throws -> (HTTPResponse.Status, JSONValue) {
        let response = try await client.execute(
            uri: uri, method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(bytes: body.jsonBytes))
        return (response.status, response.json)
    }

    /// A registered client's id and secret.
    static func register(_ client: some TestClientProtocol) async throws -> (id: String, secret: String) {
        let (status, reply) = try await Self.post(
            client, "/client/register",
            ["clientName": "Amazon Q Developer for command line", "clientType": "public", "scopes": ["codewhisperer:completions"]])
        try #require(status == .ok)
        return (try #require(reply["clientId"]?.stringValue), try #require(reply["clientSecret"]?.stringValue))
    }

    /// A started device authorization's reply.
    static func start(_ client: some TestClientProtocol, _ registered: (id: String, secret: String)) async throws -> JSONValue {
        let (status, reply) = try await Self.post(
            client, "/device_authorization",
            ["clientId": .string(registered.id), "clientSecret": .string(registered.secret), "startUrl": "https://view.awsapps.com/start"])
        try #require(status == .ok)
        return reply
    }

    /// One `/token` poll with the device-code grant.
    static func poll(
        _ client: some TestClientProtocol, _ registered: (id: String, secret: String), _ deviceCode: String
    ) async throws -> (HTTPResponse.Status, JSONValue) {
        try await Simulator.token(
            client,
            [
                "clientId": .string(registered.id), "clientSecret": .string(registered.secret),
                "grantType": "urn:ietf:params:oauth:grant-type:device_code", "deviceCode": .string(deviceCode),
            ])
    }

    /// Registers, starts and returns the client and the device and user codes.
    static func begin(_ client: some TestClientProtocol) async throws -> (
        registered: (id: String, secret: String), deviceCode: String, userCode: String
    ) {
        let registered = try await Self.register(client)
        let reply = try await Self.start(client, registered)
        return (registered, try #require(reply["deviceCode"]?.stringValue), try #require(reply["userCode"]?.stringValue))
    }
}

@Suite("OIDC device login in the simulator")
struct DeviceFlowTests {
    @Test("RegisterClient answers the service's shape and counts the client")
    func register() async throws {
        let state = SimulatorState()
        try await Simulator.application(state: state).test(.router) { client in
            let (status, reply) = try await Device.post(
                client, "/client/register", ["clientName": "test", "clientType": "public"])
            #expect(status == .ok)
            #expect(reply["clientId"]?.stringValue?.isEmpty == false)
            #expect(reply["clientSecret"]?.stringValue?.isEmpty == false)
            let issuedAt = try #require(reply["clientIdIssuedAt"]?.intValue)
            let expiresAt = try #require(reply["clientSecretExpiresAt"]?.intValue)
            #expect(issuedAt > 1_700_000_000)
            #expect(expiresAt > issuedAt)
            #expect(state.registeredClients == 1)
        }
    }

    @Test(
        "RegisterClient refuses bad requests",
        arguments: [
            (#"{"clientType":"public"}"#, "invalid_request"),
            (#"{"clientName":"x","clientType":"confidential"}"#, "invalid_client_metadata"),
            (#"{"clientName":"x","clientType":"public","scopes":"codewhisperer:completions"}"#, "invalid_request"),
            ("not json", "invalid_request"),
        ]
    )
    func registerErrors(body: String, error: String) async throws {
        let state = SimulatorState()
        try await Simulator.application(state: state).test(.router) { client in
            let response = try await client.execute(uri: "/client/register", method: .post, body: ByteBuffer(string: body))
            #expect(response.status == .badRequest)
            #expect(response.json["error"]?.stringValue == error)
            #expect(state.registeredClients == 0)
        }
    }

    @Test("StartDeviceAuthorization answers codes, a verification URI on the simulator, and the configured timing")
    func start() async throws {
        let options = SimulatorOptions(deviceInterval: 3, deviceCodeLifetime: 42)
        let state = SimulatorState()
        try await Simulator.application(options, state: state).test(.router) { client in
            let reply = try await Device.start(client, try await Device.register(client))
            #expect((reply["deviceCode"]?.stringValue?.count ?? 0) >= 32)
            let userCode = try #require(reply["userCode"]?.stringValue)
            #expect(userCode.count == 9)
            #expect(userCode.filter { $0 == "-" }.count == 1 && userCode.dropFirst(4).first == "-")
            #expect(userCode.allSatisfy { $0 == "-" || ($0.isUppercase && $0.isASCII) })
            let uri = try #require(reply["verificationUri"]?.stringValue)
            #expect(uri.hasPrefix("http://") && uri.hasSuffix("/__sim/device"))
            #expect(reply["verificationUriComplete"]?.stringValue == uri + "?user_code=" + userCode)
            #expect(reply["expiresIn"]?.intValue == 42)
            #expect(reply["interval"]?.intValue == 3)
            #expect(state.deviceAuthorizationsStarted == 1)
            #expect(state.pendingDeviceAuthorizations == 1)
        }
    }

    @Test("StartDeviceAuthorization refuses unknown clients, wrong secrets and missing members")
    func startErrors() async throws {
        let options = SimulatorOptions(clientID: "client", clientSecret: "secret")
        try await Simulator.application(options, state: SimulatorState()).test(.router) { client in
            let registered = try await Device.register(client)
            let cases: [(JSONValue, HTTPResponse.Status, String)] = [
                (["clientId": "other", "clientSecret": "secret", "startUrl": "https://view.awsapps.com/start"], .unauthorized, "invalid_client"),
                (["clientId": .string(registered.id), "clientSecret": "wrong", "startUrl": "https://x"], .unauthorized, "invalid_client"),
                (["clientId": .string(registered.id), "clientSecret": .string(registered.secret)], .badRequest, "invalid_request"),
                (
                    ["clientId": .string(registered.id), "clientSecret": .string(registered.secret), "startUrl": "view"], .badRequest,
                    "invalid_request"
                ),
            ]
            for (body, status, error) in cases {
                let (gotStatus, reply) = try await Device.post(client, "/device_authorization", body)
                #expect(gotStatus == status, "\(body.jsonString)")
                #expect(reply["error"]?.stringValue == error, "\(body.jsonString)")
            }
            // The client the options name is accepted without registering.
            let (status, _) = try await Device.post(
                client, "/device_authorization", ["clientId": "client", "clientSecret": "secret", "startUrl": "https://view.awsapps.com/start"])
            #expect(status == .ok)
        }
    }

    @Test("pending, then slow_down when polled too fast, then approved: the tokens work and the code is spent")
    func pendingSlowDownApprove() async throws {
        let state = SimulatorState()
        try await Simulator.application(SimulatorOptions(deviceInterval: 1), state: state).test(.router) { client in
            let (registered, deviceCode, userCode) = try await Device.begin(client)

            let (pending, pendingReply) = try await Device.poll(client, registered, deviceCode)
            #expect(pending == .badRequest)
            #expect(pendingReply["error"]?.stringValue == "authorization_pending")
            #expect(pendingReply["error_description"]?.stringValue?.isEmpty == false)

            let (tooFast, tooFastReply) = try await Device.poll(client, registered, deviceCode)
            #expect(tooFast == .badRequest)
            #expect(tooFastReply["error"]?.stringValue == "slow_down")
            #expect(state.deviceSlowDowns == 1)

            let (approved, approvedReply) = try await Device.post(client, "/__sim/device/approve", ["userCode": .string(userCode.lowercased())])
            #expect(approved == .ok)
            #expect(approvedReply["approved"]?.intValue == 1)
            #expect(state.pendingDeviceAuthorizations == 0)

            try await Task.sleep(for: .milliseconds(1050))
            let (status, reply) = try await Device.poll(client, registered, deviceCode)
            #expect(status == .ok)
            let accessToken = try #require(reply["accessToken"]?.stringValue)
            #expect(reply["tokenType"] == "Bearer")
            #expect(reply["expiresIn"]?.intValue == 3600)
            #expect(reply["refreshToken"]?.stringValue?.hasPrefix("aor") == true)
            #expect(try await Simulator.ask(client, token: accessToken, body: QBody.simple("hi")).status == .ok)
            #expect(state.deviceTokensIssued == 1)
            #expect(state.devicePolls == 3)

            try await Task.sleep(for: .milliseconds(1050))
            let (again, againReply) = try await Device.poll(client, registered, deviceCode)
            #expect(again == .badRequest)
            #expect(againReply["error"]?.stringValue == "invalid_grant")
        }
    }

    @Test("a code past its lifetime gets expired_token and can no longer be approved")
    func expired() async throws {
        try await Simulator.application(SimulatorOptions(deviceCodeLifetime: 0), state: SimulatorState()).test(.router) { client in
            let (registered, deviceCode, userCode) = try await Device.begin(client)
            let (status, reply) = try await Device.poll(client, registered, deviceCode)
            #expect(status == .badRequest)
            #expect(reply["error"]?.stringValue == "expired_token")
            let (approve, _) = try await Device.post(client, "/__sim/device/approve", ["userCode": .string(userCode)])
            #expect(approve == .notFound)
        }
    }

    @Test("a denied login gets access_denied on every poll")
    func denied() async throws {
        let state = SimulatorState()
        try await Simulator.application(SimulatorOptions(enforceSlowDown: false), state: state).test(.router) { client in
            let (registered, deviceCode, _) = try await Device.begin(client)
            let response = try await client.execute(uri: "/__sim/device/deny", method: .post)
            #expect(response.status == .ok)
            #expect(response.json["denied"]?.intValue == 1)
            for _ in 0..<2 {
                let (status, reply) = try await Device.poll(client, registered, deviceCode)
                #expect(status == .badRequest)
                #expect(reply["error"]?.stringValue == "access_denied")
            }
            #expect(state.deviceTokensIssued == 0)
            #expect(state.approveDevice() == 0)
        }
    }

    @Test("the refresh token of a device login works with the refresh grant, and rotates when configured")
    func refreshAfterLogin() async throws {
        let state = SimulatorState()
        let options = SimulatorOptions(
            refreshTokens: ["rt-1"], rotateRefreshTokens: true, autoApproveDeviceAfterPolls: 2, enforceSlowDown: false)
        try await Simulator.application(options, state: state).test(.router) { client in
            let (registered, deviceCode, _) = try await Device.begin(client)
            for _ in 0..<2 {
                let (_, reply) = try await Device.poll(client, registered, deviceCode)
                #expect(reply["error"]?.stringValue == "authorization_pending")
            }
            let (status, reply) = try await Device.poll(client, registered, deviceCode)
            #expect(status == .ok)
            let refreshToken = try #require(reply["refreshToken"]?.stringValue)

            let body = Simulator.tokenBody(refreshToken: refreshToken, clientID: registered.id, clientSecret: registered.secret)
            let (refreshed, refreshedReply) = try await Simulator.token(client, body)
            #expect(refreshed == .ok)
            let rotated = try #require(refreshedReply["refreshToken"]?.stringValue)
            #expect(rotated != refreshToken)
            let (reused, reusedReply) = try await Simulator.token(client, body)
            #expect(reused == .badRequest)
            #expect(reusedReply["error"]?.stringValue == "invalid_grant")
            #expect(state.refreshCount == 1)
        }
    }

    @Test("device-code polls refuse unknown codes, another client's code, a missing code and a wrong secret")
    func pollErrors() async throws {
        try await Simulator.application(SimulatorOptions(enforceSlowDown: false), state: SimulatorState()).test(.router) { client in
            let (registered, deviceCode, _) = try await Device.begin(client)
            let other = try await Device.register(client)

            let (unknown, unknownReply) = try await Device.poll(client, registered, "made-up")
            #expect(unknown == .badRequest && unknownReply["error"]?.stringValue == "invalid_grant")
            let (foreign, foreignReply) = try await Device.poll(client, other, deviceCode)
            #expect(foreign == .badRequest && foreignReply["error"]?.stringValue == "invalid_grant")
            let (wrongSecret, wrongSecretReply) = try await Device.poll(client, (registered.id, "wrong"), deviceCode)
            #expect(wrongSecret == .unauthorized && wrongSecretReply["error"]?.stringValue == "invalid_client")
            let (missing, missingReply) = try await Simulator.token(
                client,
                [
                    "clientId": .string(registered.id), "clientSecret": .string(registered.secret),
                    "grantType": "urn:ietf:params:oauth:grant-type:device_code",
                ])
            #expect(missing == .badRequest && missingReply["error"]?.stringValue == "invalid_request")

            // None of those touched the real authorization.
            let (status, reply) = try await Device.poll(client, registered, deviceCode)
            #expect(status == .badRequest && reply["error"]?.stringValue == "authorization_pending")
        }
    }

    @Test("the verification page posts to the approve endpoint, which takes the user code from the query")
    func verificationPage() async throws {
        let state = SimulatorState()
        try await Simulator.application(SimulatorOptions(enforceSlowDown: false), state: state).test(.router) { client in
            let (registered, deviceCode, userCode) = try await Device.begin(client)
            let page = try await client.execute(uri: "/__sim/device?user_code=\(userCode)", method: .get)
            #expect(page.status == .ok)
            #expect(page.headers[.contentType]?.hasPrefix("text/html") == true)
            let html = String(buffer: page.body)
            #expect(html.contains(#"action="/__sim/device/approve?user_code=\#(userCode)""#))
            #expect(html.contains(#"action="/__sim/device/deny?user_code=\#(userCode)""#))

            let escaped = try await client.execute(uri: "/__sim/device?user_code=%3Cb%3E", method: .get)
            #expect(!String(buffer: escaped.body).contains("<b><"))

            let unknown = try await client.execute(uri: "/__sim/device/approve?user_code=ZZZZ-ZZZZ", method: .post)
            #expect(unknown.status == .notFound)

            let browser = try await client.execute(
                uri: "/__sim/device/approve?user_code=\(userCode)", method: .post, headers: [.accept: "text/html"])
            #expect(browser.status == .ok)
            #expect(String(buffer: browser.body).contains("approved"))
            let (status, _) = try await Device.poll(client, registered, deviceCode)
            #expect(status == .ok)
        }
    }

    @Test("/__sim/state reports the device-flow counters")
    func stateCounters() async throws {
        let options = SimulatorOptions(autoApproveDeviceAfterPolls: 0)
        try await Simulator.application(options, state: SimulatorState()).test(.router) { client in
            let (registered, deviceCode, _) = try await Device.begin(client)
            _ = try await Device.start(client, registered)
            let (status, _) = try await Device.poll(client, registered, deviceCode)
            #expect(status == .ok)
            let reply = try await client.execute(uri: "/__sim/state", method: .get).json
            #expect(reply["registeredClients"]?.intValue == 1)
            #expect(reply["deviceAuthorizations"]?.intValue == 2)
            #expect(reply["pendingDeviceAuthorizations"]?.intValue == 1)
            #expect(reply["devicePolls"]?.intValue == 1)
            #expect(reply["deviceSlowDowns"]?.intValue == 0)
            #expect(reply["deviceTokensIssued"]?.intValue == 1)
        }
    }
}

@Suite("OIDC device login: the Upstream client against a live simulator")
struct DeviceFlowClientTests {
    /// Pacing that keeps tests fast while exercising the same loop.
    static let fast = DevicePollingPacing(minimumInterval: .milliseconds(20), slowDownIncrement: .seconds(1))

    /// Runs `body` with an OIDC client and the base URL of a live simulator.
    private func withLiveSimulator(
        _ options: SimulatorOptions, state: SimulatorState,
        _ body: @Sendable (OIDCClient, String, any TestClientProtocol) async throws -> Void
    ) async throws {
        let http = try UpstreamHTTPClient(settings: .init(connectTimeout: .seconds(5), readTimeout: .seconds(30)))
        do {
            try await Simulator.application(options, state: state).test(.live) { client in
                let port = try #require(client.port)
                try await body(OIDCClient(http: http), "http://127.0.0.1:\(port)", client)
            }
        } catch {
            try await http.shutdown()
            throw error
        }
        try await http.shutdown()
    }

    @Test("register, start and wait log in once the simulator approves, and the refresh token then works")
    func login() async throws {
        let state = SimulatorState()
        let options = SimulatorOptions(deviceInterval: 0, autoApproveDeviceAfterPolls: 2)
        try await withLiveSimulator(options, state: state) { oidc, endpoint, _ in
            let registration = try await oidc.registerClient(endpoint: endpoint, logger: Simulator.logger)
            #expect(registration.clientSecretExpiresAt != nil)
            #expect(!registration.description.contains(registration.clientSecret))
            let authorization = try await oidc.startDeviceAuthorization(
                endpoint: endpoint, registration: registration, logger: Simulator.logger)
            #expect(authorization.verificationURIComplete == "\(endpoint)/__sim/device?user_code=\(authorization.userCode)")
            #expect(authorization.verificationURI == "\(endpoint)/__sim/device")
            #expect(authorization.expiresIn == 600 && authorization.interval == 0)
            #expect(!authorization.description.contains(authorization.deviceCode))

            let grant = try await oidc.waitForDeviceToken(
                endpoint: endpoint, registration: registration, authorization: authorization, pacing: Self.fast, logger: Simulator.logger)
            #expect(grant.expiresIn == 3600)
            let refreshToken = try #require(grant.refreshToken)
            #expect(state.devicePolls == 3)

            let refreshed = try await oidc.refresh(
                endpoint: endpoint, clientID: registration.clientID, clientSecret: registration.clientSecret, refreshToken: refreshToken,
                logger: Simulator.logger)
            #expect(!refreshed.accessToken.isEmpty)
            #expect(state.refreshCount == 1)
            #expect(state.refreshesByClient == [registration.clientID: 1])
        }
    }

    @Test("a single poll reports pending and slow_down as OIDC error kinds")
    func singlePoll() async throws {
        try await withLiveSimulator(SimulatorOptions(deviceInterval: 1), state: SimulatorState()) { oidc, endpoint, _ in
            let registration = try await oidc.registerClient(endpoint: endpoint, logger: Simulator.logger)
            let authorization = try await oidc.startDeviceAuthorization(
                endpoint: endpoint, registration: registration, logger: Simulator.logger)
            for expected in [OIDCError.Kind.authorizationPending, .slowDown] {
                do throws(OIDCError) {
                    _ = try await oidc.pollDeviceToken(
                        endpoint: endpoint, registration: registration, deviceCode: authorization.deviceCode, logger: Simulator.logger)
                    Issue.record("expected \(expected)")
                } catch {
                    #expect(error.kind == expected)
                    #expect(error.status == 400)
                }
            }
        }
    }

    @Test("the loop slows down by the increment after slow_down, then gets the tokens")
    func slowDown() async throws {
        let state = SimulatorState()
        let options = SimulatorOptions(deviceInterval: 1, autoApproveDeviceAfterPolls: 1)
        try await withLiveSimulator(options, state: state) { oidc, endpoint, _ in
            let registration = try await oidc.registerClient(endpoint: endpoint, logger: Simulator.logger)
            var authorization = try await oidc.startDeviceAuthorization(
                endpoint: endpoint, registration: registration, logger: Simulator.logger)
            // Pretend the service asked for no wait, so the client polls faster than the simulator allows.
            authorization.interval = 0
            let grant = try await oidc.waitForDeviceToken(
                endpoint: endpoint, registration: registration, authorization: authorization, pacing: Self.fast, logger: Simulator.logger)
            #expect(!grant.accessToken.isEmpty)
            #expect(state.deviceSlowDowns == 1)
            #expect(state.devicePolls == 3)
        }
    }

    @Test("the loop stops with access_denied when the user denies through the page's endpoint")
    func denied() async throws {
        let state = SimulatorState()
        try await withLiveSimulator(SimulatorOptions(deviceInterval: 0), state: state) { oidc, endpoint, client in
            let registration = try await oidc.registerClient(endpoint: endpoint, logger: Simulator.logger)
            let authorization = try await oidc.startDeviceAuthorization(
                endpoint: endpoint, registration: registration, logger: Simulator.logger)
            let waiter = Task {
                try await oidc.waitForDeviceToken(
                    endpoint: endpoint, registration: registration, authorization: authorization, pacing: Self.fast,
                    logger: Simulator.logger)
            }
            #expect(try await eventually { state.devicePolls >= 2 })
            let response = try await client.execute(uri: "/__sim/device/deny?user_code=\(authorization.userCode)", method: .post)
            #expect(response.status == .ok)
            let error = await #expect(throws: OIDCError.self) { _ = try await waiter.value }
            #expect(error?.kind == .accessDenied)
        }
    }

    @Test("the loop gives up with expired_token when the code expires unapproved")
    func expires() async throws {
        let options = SimulatorOptions(deviceInterval: 0, deviceCodeLifetime: 1)
        try await withLiveSimulator(options, state: SimulatorState()) { oidc, endpoint, _ in
            let registration = try await oidc.registerClient(endpoint: endpoint, logger: Simulator.logger)
            let authorization = try await oidc.startDeviceAuthorization(
                endpoint: endpoint, registration: registration, logger: Simulator.logger)
            let clock = ContinuousClock()
            let started = clock.now
            let error = await #expect(throws: OIDCError.self) {
                _ = try await oidc.waitForDeviceToken(
                    endpoint: endpoint, registration: registration, authorization: authorization, pacing: Self.fast,
                    logger: Simulator.logger)
            }
            #expect(error?.kind == .expiredToken)
            #expect(error?.message.contains("expired") == true)
            #expect(started.duration(to: clock.now) < .seconds(3))
        }
    }

    @Test("cancelling the task ends the wait at once with CancellationError")
    func cancellation() async throws {
        try await withLiveSimulator(SimulatorOptions(), state: SimulatorState()) { oidc, endpoint, _ in
            let registration = try await oidc.registerClient(endpoint: endpoint, logger: Simulator.logger)
            let authorization = try await oidc.startDeviceAuthorization(
                endpoint: endpoint, registration: registration, logger: Simulator.logger)
            let waiter = Task {
                try await oidc.waitForDeviceToken(
                    endpoint: endpoint, registration: registration, authorization: authorization,
                    pacing: DevicePollingPacing(minimumInterval: .seconds(60)), logger: Simulator.logger)
            }
            try await Task.sleep(for: .milliseconds(50))
            waiter.cancel()
            await #expect(throws: CancellationError.self) { _ = try await waiter.value }
        }
    }
}
