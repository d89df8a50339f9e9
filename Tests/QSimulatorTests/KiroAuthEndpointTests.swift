import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import ProxyModels
import Testing

@testable import QSimulator

/// The simulator's Kiro auth service (`POST /refreshToken`) and what `POST /` asks of the tokens it issues.
@Suite("Kiro /refreshToken and Kiro access tokens")
struct KiroAuthEndpointTests {
    private static let kiroUserAgent = "aws-sdk-js/1.0.27 ua/2.1 m/E KiroIDE-0.7.45-abc"

    private func refresh(_ client: some TestClientProtocol, _ token: String) async throws -> (HTTPResponse.Status, JSONValue) {
        let response = try await client.execute(
            uri: "/refreshToken", method: .post, headers: [.contentType: "application/json"],
            body: ByteBuffer(bytes: JSONValue.object(["refreshToken": .string(token)]).jsonBytes))
        return (response.status, try JSONParser.parse(String(buffer: response.body)))
    }

    private func ask(_ client: some TestClientProtocol, token: String, body: JSONValue, kiroAgents: Bool) async throws -> TestResponse {
        var headers = Simulator.qHeaders(token: token)
        if kiroAgents {
            headers[.userAgent] = Self.kiroUserAgent
            headers[HTTPField.Name("x-amz-user-agent")!] = "aws-sdk-js/1.0.27 KiroIDE-0.7.45-abc"
        }
        return try await client.execute(uri: "/", method: .post, headers: headers, body: ByteBuffer(bytes: body.jsonBytes))
    }

    @Test("a refresh returns the access token, the (rotated) refresh token, the lifetime and the profile")
    func refreshes() async throws {
        let state = SimulatorState()
        let options = SimulatorOptions(refreshTokens: ["kiro-1"], accessTokenLifetime: 900, rotateRefreshTokens: true)
        try await Simulator.application(options, state: state).test(.router) { client in
            let (status, reply) = try await refresh(client, "kiro-1")
            #expect(status == .ok)
            #expect(reply["accessToken"]?.stringValue?.isEmpty == false)
            #expect(reply["expiresIn"]?.intValue == 900)
            #expect(reply["profileArn"]?.stringValue == SimulatorOptions.defaultKiroProfileARN)
            let rotated = try #require(reply["refreshToken"]?.stringValue)
            #expect(rotated != "kiro-1")
            // The spent token is refused the way the open-source Kiro clients expect.
            let (refused, error) = try await refresh(client, "kiro-1")
            #expect(refused == .badRequest)
            #expect(error["error"] == "invalid_grant")
            #expect(try await refresh(client, rotated).0 == .ok)
            #expect(state.refreshesByClient == ["kiro": 2])
        }
    }

    @Test("without rotation the same refresh token comes back")
    func noRotation() async throws {
        try await Simulator.application(SimulatorOptions(refreshTokens: ["kiro-1"]), state: SimulatorState()).test(.router) { client in
            let (_, reply) = try await refresh(client, "kiro-1")
            #expect(reply["refreshToken"] == "kiro-1")
        }
    }

    @Test("a Kiro access token is served only with a profileArn and Kiro user agents; an OIDC one needs neither")
    func kiroChecks() async throws {
        let state = SimulatorState()
        try await Simulator.application(SimulatorOptions(), state: state).test(.router) { client in
            let (_, reply) = try await refresh(client, "kiro-1")
            let token = try #require(reply["accessToken"]?.stringValue)
            var body = QBody.simple("hi")
            #expect(try await ask(client, token: token, body: body, kiroAgents: true).status == .badRequest)  // no profileArn
            body = body.setting("profileArn", to: .string(SimulatorOptions.defaultKiroProfileARN))
            #expect(try await ask(client, token: token, body: body, kiroAgents: false).status == .forbidden)  // not a Kiro client
            #expect(try await ask(client, token: token, body: body, kiroAgents: true).status == .ok)

            let oidc = try await Simulator.accessToken(client, refreshToken: "rt-any")
            #expect(try await ask(client, token: oidc, body: QBody.simple("hi"), kiroAgents: false).status == .ok)
        }
    }

    @Test("expiring tokens expires Kiro ones too")
    func expiry() async throws {
        let state = SimulatorState()
        try await Simulator.application(SimulatorOptions(), state: state).test(.router) { client in
            let (_, reply) = try await refresh(client, "kiro-1")
            let token = try #require(reply["accessToken"]?.stringValue)
            state.expireAllAccessTokens()
            let body = QBody.simple("hi").setting("profileArn", to: .string(SimulatorOptions.defaultKiroProfileARN))
            #expect(try await ask(client, token: token, body: body, kiroAgents: true).status == .forbidden)
        }
    }
}
