import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import ProxyModels
import Synchronization
import Testing

@testable import QSimulator
@testable import Upstream

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

    @Test("pending, then slow_down when polled again within the interval, also once approved; the approval holds")
    func pendingThenSlowDown() async throws {
        let state = SimulatorState()
        try await Simulator.application(SimulatorOptions(deviceInterval: 60), state: state).test(.router) { client in
            let (registered, deviceCode, userCode) = try await Device.begin(client)

            let (pending, pendingReply) = try await Device.poll(client, registered, deviceCode)
            #expect(pending == .badRequest)
            #expect(pendingReply["error"]?.stringValue == "authorization_pending")
            #expect(pendingReply["error_description"]?.stringValue?.isEmpty == false)

            let (tooFast, tooFastReply) = try await Device.poll(client, registered, deviceCode)
            #expect(tooFast == .badRequest)
            #expect(tooFastReply["error"]?.stringValue == "slow_down")
            #expect(tooFastReply["error_description"]?.stringValue?.contains("60 seconds") == true)
            #expect(state.deviceSlowDowns == 1)

            let (approved, approvedReply) = try await Device.post(client, "/__sim/device/approve", ["userCode": .string(userCode.lowercased())])
            #expect(approved == .ok)
            #expect(approvedReply["approved"]?.intValue == 1)
            #expect(state.pendingDeviceAuthorizations == 0)

            // Polled too fast once approved: still slow_down, and the tokens are not given away meanwhile. (That
            // they come once the interval has passed is `DeviceAuthorizationsTests`' job, on a clock moved by hand.)
            let (again, againReply) = try await Device.poll(client, registered, deviceCode)
            #expect(again == .badRequest && againReply["error"]?.stringValue == "slow_down")
            #expect(state.deviceSlowDowns == 2)
            #expect(state.deviceTokensIssued == 0)
        }
    }

    @Test("approved: the next poll gets working tokens, and the device code is then spent")
    func approve() async throws {
        let state = SimulatorState()
        // Interval 0: no poll is too fast, so the test needs no time to pass.
        try await Simulator.application(SimulatorOptions(deviceInterval: 0), state: state).test(.router) { client in
            let (registered, deviceCode, userCode) = try await Device.begin(client)
            let (pending, pendingReply) = try await Device.poll(client, registered, deviceCode)
            #expect(pending == .badRequest && pendingReply["error"]?.stringValue == "authorization_pending")

            let (approved, _) = try await Device.post(client, "/__sim/device/approve", ["userCode": .string(userCode)])
            #expect(approved == .ok)
            let (status, reply) = try await Device.poll(client, registered, deviceCode)
            #expect(status == .ok)
            let accessToken = try #require(reply["accessToken"]?.stringValue)
            #expect(reply["tokenType"] == "Bearer")
            #expect(reply["expiresIn"]?.intValue == 3600)
            #expect(reply["refreshToken"]?.stringValue?.hasPrefix("aor") == true)
            #expect(try await Simulator.ask(client, token: accessToken, body: QBody.simple("hi")).status == .ok)
            #expect(state.deviceTokensIssued == 1)

            let (spent, spentReply) = try await Device.poll(client, registered, deviceCode)
            #expect(spent == .badRequest)
            #expect(spentReply["error"]?.stringValue == "invalid_grant")
            #expect(state.devicePolls == 3)
            #expect(state.deviceSlowDowns == 0)
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

@Suite("OIDC device login in the simulator: expiry and slow_down on a clock moved by hand")
struct DeviceAuthorizationsTests {
    /// A table with one authorization by client `c`, started at `clock.now`.
    private func started(
        _ clock: ManualClock, lifetime: Int = 600, interval: Int = 5
    ) -> (table: DeviceAuthorizations, deviceCode: String, userCode: String) {
        var table = DeviceAuthorizations()
        let (deviceCode, userCode) = table.start(clientID: "c", lifetime: lifetime, interval: interval, now: clock.now)
        return (table, deviceCode, userCode)
    }

    private func poll(_ table: inout DeviceAuthorizations, _ deviceCode: String, at clock: ManualClock, enforceSlowDown: Bool = true)
        -> DeviceAuthorizations.PollOutcome
    {
        table.poll(deviceCode: deviceCode, clientID: "c", now: clock.now, enforceSlowDown: enforceSlowDown, autoApproveAfter: nil)
    }

    @Test("a poll less than `interval` after the previous one gets slow_down; one at the interval does not")
    func slowDownAtTheInterval() {
        let clock = ManualClock()
        var (table, deviceCode, _) = started(clock, interval: 5)
        #expect(poll(&table, deviceCode, at: clock) == .pending)
        clock.advance(by: .seconds(5) - .milliseconds(1))
        #expect(poll(&table, deviceCode, at: clock) == .slowDown)
        // The slow_down poll counts: the next one must again wait a whole interval from it.
        clock.advance(by: .seconds(4))
        #expect(poll(&table, deviceCode, at: clock) == .slowDown)
        clock.advance(by: .seconds(5))
        #expect(poll(&table, deviceCode, at: clock) == .pending)
        clock.advance(by: .seconds(6))
        #expect(poll(&table, deviceCode, at: clock) == .pending)
    }

    @Test("the first poll is never too fast, however soon after the start")
    func firstPoll() {
        let clock = ManualClock()
        var (table, deviceCode, _) = started(clock, interval: 60)
        #expect(poll(&table, deviceCode, at: clock) == .pending)
    }

    @Test("an approved login polled too fast gets slow_down, then its tokens once the interval has passed")
    func approvedAfterTheInterval() {
        let clock = ManualClock()
        var (table, deviceCode, userCode) = started(clock, interval: 1)
        #expect(poll(&table, deviceCode, at: clock) == .pending)
        #expect(table.decide(userCode: userCode, .approved, now: clock.now) == 1)
        #expect(poll(&table, deviceCode, at: clock) == .slowDown)
        clock.advance(by: .seconds(1))
        #expect(poll(&table, deviceCode, at: clock) == .approved)
        // Spent, at any time.
        #expect(poll(&table, deviceCode, at: clock) == .invalidGrant)
        clock.advance(by: .seconds(10))
        #expect(poll(&table, deviceCode, at: clock) == .invalidGrant)
    }

    @Test("without slow_down enforcement every poll is answered on its merits")
    func notEnforced() {
        let clock = ManualClock()
        var (table, deviceCode, _) = started(clock, interval: 60)
        for _ in 0..<3 {
            #expect(poll(&table, deviceCode, at: clock, enforceSlowDown: false) == .pending)
        }
    }

    @Test("the code expires exactly `lifetime` seconds after the start: pending just before, expired from then on")
    func expiry() {
        let clock = ManualClock()
        var (table, deviceCode, userCode) = started(clock, lifetime: 600, interval: 0)
        clock.advance(by: .seconds(600) - .nanoseconds(1))
        #expect(table.pendingCount(now: clock.now) == 1)
        #expect(poll(&table, deviceCode, at: clock) == .pending)
        clock.advance(by: .nanoseconds(1))
        #expect(table.pendingCount(now: clock.now) == 0)
        #expect(poll(&table, deviceCode, at: clock) == .expired)
        // Too late to approve, and a later poll is still expired, not pending.
        #expect(table.decide(userCode: userCode, .approved, now: clock.now) == 0)
        clock.advance(by: .seconds(3600))
        #expect(poll(&table, deviceCode, at: clock) == .expired)
    }

    @Test("an approved code that expires before its poll is expired, not redeemed")
    func approvedThenExpired() {
        let clock = ManualClock()
        var (table, deviceCode, userCode) = started(clock, lifetime: 10, interval: 0)
        #expect(table.decide(userCode: userCode, .approved, now: clock.now) == 1)
        clock.advance(by: .seconds(10))
        #expect(poll(&table, deviceCode, at: clock) == .expired)
    }

    @Test("expired codes are dropped when the table grows past 1,024, live ones kept")
    func pruning() {
        let clock = ManualClock()
        var table = DeviceAuthorizations()
        var oldCodes: [String] = []
        for _ in 0...1024 { oldCodes.append(table.start(clientID: "c", lifetime: 10, interval: 0, now: clock.now).deviceCode) }
        let live = table.start(clientID: "c", lifetime: 600, interval: 0, now: clock.now).deviceCode
        clock.advance(by: .seconds(11))
        // This start prunes: the 1,025 expired codes go, the live one stays.
        _ = table.start(clientID: "c", lifetime: 600, interval: 0, now: clock.now)
        #expect(table.poll(deviceCode: oldCodes[0], clientID: "c", now: clock.now, enforceSlowDown: true, autoApproveAfter: nil) == .invalidGrant)
        #expect(table.poll(deviceCode: live, clientID: "c", now: clock.now, enforceSlowDown: true, autoApproveAfter: nil) == .pending)
        #expect(table.started == 1027)
    }
}

@Suite("OIDC device login: the Upstream client's polling loop, on a clock moved by hand")
struct DevicePollingTests {
    /// Answers the loop's polls from a script, in order; counts them.
    private final class ScriptedPolls: Sendable {
        private let answers: Mutex<[Result<TokenGrant, OIDCError>]>
        private let count = Mutex(0)

        init(_ answers: [Result<TokenGrant, OIDCError>]) {
            self.answers = Mutex(answers)
        }

        var polls: Int { self.count.withLock { $0 } }

        func poll() throws(OIDCError) -> TokenGrant {
            self.count.withLock { $0 += 1 }
            let answer = self.answers.withLock { $0.isEmpty ? nil : $0.removeFirst() }
            guard let answer else { throw OIDCError(kind: .rejected, status: nil, message: "the script has no more answers") }
            return try answer.get()
        }
    }

    static let grant = TokenGrant(accessToken: "at", expiresIn: 3600, refreshToken: "rt")
    static func error(_ kind: OIDCError.Kind) -> Result<TokenGrant, OIDCError> {
        .failure(OIDCError(kind: kind, status: 400, message: kind.rawValue))
    }

    private func authorization(expiresIn: Int = 600, interval: Int = 5) -> DeviceAuthorization {
        DeviceAuthorization(
            deviceCode: "dc", userCode: "ABCD-EFGH", verificationURI: "https://x", verificationURIComplete: "https://x?user_code=ABCD-EFGH",
            expiresIn: expiresIn, interval: interval)
    }

    private func run(
        _ script: ScriptedPolls, _ authorization: DeviceAuthorization, pacing: DevicePollingPacing = .standard, clock: ManualClock
    ) async throws -> TokenGrant {
        try await OIDCClient.pollUntilApproved(authorization: authorization, pacing: pacing, clock: clock, logger: Simulator.logger) {
            () throws(OIDCError) -> TokenGrant in try script.poll()
        }
    }

    @Test("it waits `interval` before each poll, and slow_down adds the increment for good")
    func slowDownWidensTheInterval() async throws {
        let clock = ManualClock(autoAdvance: true)
        let script = ScriptedPolls([
            Self.error(.authorizationPending), Self.error(.slowDown), Self.error(.slowDown), Self.error(.authorizationPending), .success(Self.grant),
        ])
        let started = clock.now
        #expect(try await run(script, authorization(interval: 5), clock: clock) == Self.grant)
        #expect(clock.sleeps == [.seconds(5), .seconds(5), .seconds(10), .seconds(15), .seconds(15)])
        #expect(started.duration(to: clock.now) == .seconds(50))
        #expect(script.polls == 5)
    }

    @Test("an interval under the pacing's minimum, or none, waits the minimum", arguments: [0, -3])
    func minimumInterval(interval: Int) async throws {
        let clock = ManualClock(autoAdvance: true)
        let script = ScriptedPolls([Self.error(.authorizationPending), .success(Self.grant)])
        _ = try await run(script, authorization(interval: interval), clock: clock)
        #expect(clock.sleeps == [.seconds(1), .seconds(1)])
    }

    @Test("it gives up with expired_token before a poll that would come after the code's expiry")
    func expires() async throws {
        let clock = ManualClock(autoAdvance: true)
        let script = ScriptedPolls(Array(repeating: Self.error(.authorizationPending), count: 10))
        let started = clock.now
        let error = await #expect(throws: OIDCError.self) { _ = try await run(script, authorization(expiresIn: 10, interval: 3), clock: clock) }
        #expect(error?.kind == .expiredToken)
        #expect(error?.message.contains("expired after 10 s") == true)
        // Polls at 3, 6 and 9 s; the next would be at 12 s, past the expiry at 10 s.
        #expect(script.polls == 3)
        #expect(started.duration(to: clock.now) == .seconds(9))
    }

    @Test("a poll due exactly at the expiry is not made")
    func dueAtTheExpiry() async throws {
        let clock = ManualClock(autoAdvance: true)
        let script = ScriptedPolls([Self.error(.authorizationPending), .success(Self.grant)])
        let error = await #expect(throws: OIDCError.self) { _ = try await run(script, authorization(expiresIn: 10, interval: 5), clock: clock) }
        #expect(error?.kind == .expiredToken)
        #expect(script.polls == 1)
    }

    @Test("slow_down can push the next poll past the expiry")
    func slowDownIntoExpiry() async throws {
        let clock = ManualClock(autoAdvance: true)
        let script = ScriptedPolls([Self.error(.slowDown), .success(Self.grant)])
        // Poll at 5 s gets slow_down; the next would be at 15 s, past the expiry at 12 s.
        let error = await #expect(throws: OIDCError.self) { _ = try await run(script, authorization(expiresIn: 12, interval: 5), clock: clock) }
        #expect(error?.kind == .expiredToken)
        #expect(script.polls == 1)
    }

    @Test("network errors are retried up to the limit in a row; a pending answer resets the count")
    func transientFailures() async throws {
        let clock = ManualClock(autoAdvance: true)
        let retried = ScriptedPolls([
            Self.error(.transient), Self.error(.transient), Self.error(.transient), Self.error(.authorizationPending),
            Self.error(.transient), Self.error(.transient), Self.error(.transient), .success(Self.grant),
        ])
        #expect(try await run(retried, authorization(), clock: clock) == Self.grant)
        #expect(retried.polls == 8)

        let tooMany = ScriptedPolls(Array(repeating: Self.error(.transient), count: 5))
        let error = await #expect(throws: OIDCError.self) { _ = try await run(tooMany, authorization(), clock: clock) }
        #expect(error?.kind == .transient)
        #expect(tooMany.polls == 4)
    }

    @Test(
        "access_denied and any other refusal end the loop at once",
        arguments: [OIDCError.Kind.accessDenied, .expiredToken, .invalidClient, .rejected])
    func refusals(kind: OIDCError.Kind) async throws {
        let clock = ManualClock(autoAdvance: true)
        let script = ScriptedPolls([Self.error(.authorizationPending), Self.error(kind), .success(Self.grant)])
        let error = await #expect(throws: OIDCError.self) { _ = try await run(script, authorization(), clock: clock) }
        #expect(error?.kind == kind)
        #expect(script.polls == 2)
    }

    @Test("cancelling the task ends a wait at once with CancellationError, without another poll")
    func cancellation() async throws {
        let clock = ManualClock()
        let script = ScriptedPolls([.success(Self.grant)])
        var sleeps = clock.sleepRequests.makeAsyncIterator()
        let waiter = Task { try await run(script, authorization(interval: 60), clock: clock) }
        // The loop is now asleep until 60 s from now, on a clock nobody moves.
        _ = await sleeps.next()
        waiter.cancel()
        await #expect(throws: CancellationError.self) { _ = try await waiter.value }
        #expect(script.polls == 0)
    }

    @Test("an already cancelled task polls nothing")
    func cancelledBeforehand() async throws {
        let clock = ManualClock(autoAdvance: true)
        let script = ScriptedPolls([.success(Self.grant)])
        let waiter = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await run(script, authorization(), clock: clock)
        }
        await #expect(throws: CancellationError.self) { _ = try await waiter.value }
        #expect(script.polls == 0)
    }
}

@Suite("OIDC device login: the Upstream client against a live simulator")
struct DeviceFlowClientTests {
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

            // The standard pacing (1 s between polls at least), on a clock that jumps instead of waiting.
            let clock = ManualClock(autoAdvance: true)
            let grant = try await oidc.waitForDeviceToken(
                endpoint: endpoint, registration: registration, authorization: authorization, clock: clock, logger: Simulator.logger)
            #expect(grant.expiresIn == 3600)
            let refreshToken = try #require(grant.refreshToken)
            #expect(state.devicePolls == 3)
            #expect(clock.sleeps == [.seconds(1), .seconds(1), .seconds(1)])

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
        try await withLiveSimulator(SimulatorOptions(deviceInterval: 60), state: SimulatorState()) { oidc, endpoint, _ in
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

    @Test("a slow_down from the simulator makes the loop wait the increment longer before its next poll")
    func slowDown() async throws {
        let state = SimulatorState()
        try await withLiveSimulator(SimulatorOptions(deviceInterval: 60), state: state) { oidc, endpoint, _ in
            let registration = try await oidc.registerClient(endpoint: endpoint, logger: Simulator.logger)
            var authorization = try await oidc.startDeviceAuthorization(
                endpoint: endpoint, registration: registration, logger: Simulator.logger)
            // Pretend the service asked for no wait, so the client polls faster than the simulator allows.
            authorization.interval = 0
            let clock = ManualClock()
            var sleeps = clock.sleepRequests.makeAsyncIterator()
            let waiter = Task {
                try await oidc.waitForDeviceToken(
                    endpoint: endpoint, registration: registration, authorization: authorization, clock: clock, logger: Simulator.logger)
            }
            // Poll 1 (pending) and poll 2 (too fast for the simulator: slow_down), each after the 1 s minimum.
            for _ in 0..<2 {
                let deadline = try #require(await sleeps.next())
                #expect(clock.now.duration(to: deadline) == .seconds(1))
                clock.advance(to: deadline)
            }
            // Then 1 + 5 s: the standard increment.
            let deadline = try #require(await sleeps.next())
            #expect(clock.now.duration(to: deadline) == .seconds(6))
            #expect(state.deviceSlowDowns == 1)
            #expect(state.devicePolls == 2)
            waiter.cancel()
            await #expect(throws: CancellationError.self) { _ = try await waiter.value }
        }
    }

    @Test("the loop stops with access_denied when the user denies through the page's endpoint")
    func denied() async throws {
        let state = SimulatorState()
        try await withLiveSimulator(SimulatorOptions(deviceInterval: 0), state: state) { oidc, endpoint, client in
            let registration = try await oidc.registerClient(endpoint: endpoint, logger: Simulator.logger)
            let authorization = try await oidc.startDeviceAuthorization(
                endpoint: endpoint, registration: registration, logger: Simulator.logger)
            let clock = ManualClock()
            var sleeps = clock.sleepRequests.makeAsyncIterator()
            let waiter = Task {
                try await oidc.waitForDeviceToken(
                    endpoint: endpoint, registration: registration, authorization: authorization, clock: clock, logger: Simulator.logger)
            }
            // Two polls answered pending, then the user denies while the loop waits for its third.
            for _ in 0..<2 {
                clock.advance(to: try #require(await sleeps.next()))
            }
            let third = try #require(await sleeps.next())
            #expect(state.devicePolls == 2)
            let response = try await client.execute(uri: "/__sim/device/deny?user_code=\(authorization.userCode)", method: .post)
            #expect(response.status == .ok)
            clock.advance(to: third)
            let error = await #expect(throws: OIDCError.self) { _ = try await waiter.value }
            #expect(error?.kind == .accessDenied)
            #expect(state.devicePolls == 3)
        }
    }

    @Test("the loop gives up with expired_token at the code's expiry, on its own clock")
    func expires() async throws {
        let state = SimulatorState()
        let options = SimulatorOptions(deviceInterval: 0, deviceCodeLifetime: 10)
        try await withLiveSimulator(options, state: state) { oidc, endpoint, _ in
            let registration = try await oidc.registerClient(endpoint: endpoint, logger: Simulator.logger)
            let authorization = try await oidc.startDeviceAuthorization(
                endpoint: endpoint, registration: registration, logger: Simulator.logger)
            let clock = ManualClock(autoAdvance: true)
            let started = clock.now
            let error = await #expect(throws: OIDCError.self) {
                _ = try await oidc.waitForDeviceToken(
                    endpoint: endpoint, registration: registration, authorization: authorization, clock: clock, logger: Simulator.logger)
            }
            #expect(error?.kind == .expiredToken)
            #expect(error?.message.contains("expired after 10 s") == true)
            // Polls at 1 ... 9 s; the one at 10 s would be at the expiry.
            #expect(state.devicePolls == 9)
            #expect(started.duration(to: clock.now) == .seconds(9))
        }
    }

    @Test("the loop stops with the simulator's expired_token when the code expires there first")
    func expiresAtTheSimulator() async throws {
        let state = SimulatorState()
        try await withLiveSimulator(SimulatorOptions(deviceInterval: 0, deviceCodeLifetime: 0), state: state) { oidc, endpoint, _ in
            let registration = try await oidc.registerClient(endpoint: endpoint, logger: Simulator.logger)
            var authorization = try await oidc.startDeviceAuthorization(
                endpoint: endpoint, registration: registration, logger: Simulator.logger)
            // The client believes it has ten minutes; the service says the code is already gone.
            authorization.expiresIn = 600
            let error = await #expect(throws: OIDCError.self) {
                _ = try await oidc.waitForDeviceToken(
                    endpoint: endpoint, registration: registration, authorization: authorization, clock: ManualClock(autoAdvance: true),
                    logger: Simulator.logger)
            }
            #expect(error?.kind == .expiredToken)
            #expect(error?.status == 400)
            #expect(state.devicePolls == 1)
        }
    }

    @Test("cancelling the task ends the wait at once with CancellationError")
    func cancellation() async throws {
        let state = SimulatorState()
        try await withLiveSimulator(SimulatorOptions(), state: state) { oidc, endpoint, _ in
            let registration = try await oidc.registerClient(endpoint: endpoint, logger: Simulator.logger)
            let authorization = try await oidc.startDeviceAuthorization(
                endpoint: endpoint, registration: registration, logger: Simulator.logger)
            let clock = ManualClock()
            var sleeps = clock.sleepRequests.makeAsyncIterator()
            let waiter = Task {
                try await oidc.waitForDeviceToken(
                    endpoint: endpoint, registration: registration, authorization: authorization,
                    pacing: DevicePollingPacing(minimumInterval: .seconds(60)), clock: clock, logger: Simulator.logger)
            }
            _ = await sleeps.next()
            waiter.cancel()
            await #expect(throws: CancellationError.self) { _ = try await waiter.value }
            #expect(state.devicePolls == 0)
        }
    }
}

// MARK: - A clock moved by hand

/// A `Clock` whose time moves only when a test says so, for the device flow's waits and expiries.
///
/// Its instants are `ContinuousClock` instants (it starts at the real now), so the simulator's
/// ``DeviceAuthorizations``, which takes `ContinuousClock.Instant`s, can be driven with `clock.now` too.
///
/// - `ManualClock()`: a sleep waits until ``advance(to:)`` or ``advance(by:)`` passes its deadline, or its task is
///   cancelled (`CancellationError`). ``sleepRequests`` announces each sleep's deadline, so a test knows when the code
///   under test is waiting and for how long, without any real-time wait.
/// - `ManualClock(autoAdvance: true)`: a sleep moves the clock to its deadline and returns at once, so a loop runs
///   through virtual time as fast as it can; ``sleeps`` records how long each one was.
final class ManualClock: Clock, Sendable {
    typealias Instant = ContinuousClock.Instant

    private struct Sleeper {
        var id: Int
        var deadline: Instant
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now: Instant
        var sleepers: [Sleeper] = []
        /// Sleeps whose task was cancelled before they registered: they must not wait at all.
        var cancelled: Set<Int> = []
        var nextID = 0
        var sleeps: [Duration] = []
    }

    private let state: Mutex<State>
    private let autoAdvance: Bool
    private let requests: AsyncStream<Instant>.Continuation
    /// The deadline of every sleep, as it starts (a sleep that is already due included).
    let sleepRequests: AsyncStream<Instant>

    init(autoAdvance: Bool = false) {
        self.state = Mutex(State(now: ContinuousClock.now))
        self.autoAdvance = autoAdvance
        (self.sleepRequests, self.requests) = AsyncStream.makeStream()
    }

    var now: Instant { self.state.withLock { $0.now } }
    var minimumResolution: Duration { .zero }
    /// How long each sleep asked for, measured from the clock's time when it started.
    var sleeps: [Duration] { self.state.withLock { $0.sleeps } }

    /// Moves the clock forward by `duration` and wakes the sleeps that are due.
    func advance(by duration: Duration) {
        self.advance(to: self.now.advanced(by: duration))
    }

    /// Moves the clock to `instant` (never back) and wakes the sleeps that are due.
    func advance(to instant: Instant) {
        let due = self.state.withLock { state in
            state.now = max(state.now, instant)
            let now = state.now
            defer { state.sleepers.removeAll { $0.deadline <= now } }
            return state.sleepers.filter { $0.deadline <= now }
        }
        for sleeper in due { sleeper.continuation.resume() }
    }

    func sleep(until deadline: Instant, tolerance: Duration?) async throws {
        try Task.checkCancellation()
        let id: Int? = self.state.withLock { state in
            state.sleeps.append(state.now.duration(to: deadline))
            if deadline <= state.now { return nil }
            if self.autoAdvance {
                state.now = deadline
                return nil
            }
            defer { state.nextID += 1 }
            return state.nextID
        }
        self.requests.yield(deadline)
        guard let id else { return }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let now: Result<Void, any Error>? = self.state.withLock { state in
                    if state.cancelled.remove(id) != nil { return .failure(CancellationError()) }
                    // The test may have moved the clock between the announcement and this registration.
                    if deadline <= state.now { return .success(()) }
                    state.sleepers.append(Sleeper(id: id, deadline: deadline, continuation: continuation))
                    return nil
                }
                if let now { continuation.resume(with: now) }
            }
        } onCancel: {
            let continuation = self.state.withLock { state -> CheckedContinuation<Void, any Error>? in
                if let index = state.sleepers.firstIndex(where: { $0.id == id }) { return state.sleepers.remove(at: index).continuation }
                state.cancelled.insert(id)
                return nil
            }
            continuation?.resume(throwing: CancellationError())
        }
        // A cancellation that raced with a wake-up leaves its mark behind; drop it.
        self.state.withLock { _ = $0.cancelled.remove(id) }
    }
}
