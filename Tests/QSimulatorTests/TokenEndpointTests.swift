import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import ProxyModels
import Testing

@testable import QSimulator

@Suite("OIDC /token and bearer tokens")
struct TokenEndpointTests {
    @Test("a refreshed access token is accepted by POST /")
    func refreshThenAsk() async throws {
        let state = SimulatorState()
        let options = SimulatorOptions(clientID: "client", clientSecret: "secret", refreshTokens: ["rt-1"])
        try await Simulator.application(options, state: state).test(.router) { client in
            let (status, reply) = try await Simulator.token(client, Simulator.tokenBody())
            #expect(status == .ok)
            let token = try #require(reply["accessToken"]?.stringValue)
            #expect(token.hasPrefix("aoa"))
            #expect(reply["tokenType"] == "Bearer")
            #expect(reply["expiresIn"]?.intValue == 3600)
            #expect(reply["refreshToken"] == nil)
            let response = try await Simulator.ask(client, token: token, body: QBody.simple("hi"))
            #expect(response.status == .ok)
            #expect(state.refreshCount == 1)
        }
    }

    @Test("an unknown token gets the service's 403")
    func unknownToken() async throws {
        try await Simulator.application(state: SimulatorState()).test(.router) { client in
            let response = try await Simulator.ask(client, token: "aoa-made-up", body: QBody.simple("hi"))
            #expect(response.status == .forbidden)
            #expect(
                String(buffer: response.body)
                    == #"{"__type":"com.amazon.aws.codewhisperer#AccessDeniedException","message":"The bearer token included in the request is invalid.","reason":null}"#
            )
            #expect(response.headers[.contentType] == "application/x-amz-json-1.0")
        }
    }

    @Test("a missing or malformed Authorization header gets 403")
    func missingAuthorization() async throws {
        try await Simulator.application(state: SimulatorState()).test(.router) { client in
            let missing = try await Simulator.ask(client, token: nil, body: QBody.simple("hi"))
            #expect(missing.status == .forbidden)
            var headers = Simulator.qHeaders(token: nil)
            headers[.authorization] = "Token abc"
            let malformed = try await client.execute(
                uri: "/", method: .post, headers: headers, body: ByteBuffer(bytes: QBody.simple("hi").jsonBytes)
            )
            #expect(malformed.status == .forbidden)
        }
    }

    @Test("expiring all tokens, by call or by control endpoint, makes them fail")
    func expiry() async throws {
        let state = SimulatorState()
        try await Simulator.application(state: state).test(.router) { client in
            let token = try await Simulator.accessToken(client)
            #expect(try await Simulator.ask(client, token: token, body: QBody.simple("hi")).status == .ok)
            state.expireAllAccessTokens()
            #expect(try await Simulator.ask(client, token: token, body: QBody.simple("hi")).status == .forbidden)

            let second = try await Simulator.accessToken(client)
            #expect(try await Simulator.ask(client, token: second, body: QBody.simple("hi")).status == .ok)
            let control = try await client.execute(uri: "/__sim/expire-tokens", method: .post)
            #expect(control.status == .ok)
            #expect(try await Simulator.ask(client, token: second, body: QBody.simple("hi")).status == .forbidden)
        }
    }

    @Test("a zero lifetime token is already expired")
    func zeroLifetime() async throws {
        try await Simulator.application(SimulatorOptions(accessTokenLifetime: 0), state: SimulatorState()).test(.router) { client in
            let (_, reply) = try await Simulator.token(client, Simulator.tokenBody())
            #expect(reply["expiresIn"]?.intValue == 0)
            let token = try #require(reply["accessToken"]?.stringValue)
            #expect(try await Simulator.ask(client, token: token, body: QBody.simple("hi")).status == .forbidden)
        }
    }

    @Test("rotation returns a new refresh token and invalidates the old one")
    func rotation() async throws {
        let state = SimulatorState()
        let options = SimulatorOptions(refreshTokens: ["rt-1"], rotateRefreshTokens: true)
        try await Simulator.application(options, state: state).test(.router) { client in
            let (status, reply) = try await Simulator.token(client, Simulator.tokenBody(refreshToken: "rt-1"))
            #expect(status == .ok)
            let rotated = try #require(reply["refreshToken"]?.stringValue)
            #expect(rotated != "rt-1")

            let (oldStatus, oldReply) = try await Simulator.token(client, Simulator.tokenBody(refreshToken: "rt-1"))
            #expect(oldStatus == .badRequest)
            #expect(oldReply["error"] == "invalid_grant")
            #expect(oldReply["error_description"] == "Invalid refresh token provided")

            let (newStatus, newReply) = try await Simulator.token(client, Simulator.tokenBody(refreshToken: rotated))
            #expect(newStatus == .ok)
            #expect(newReply["refreshToken"]?.stringValue != rotated)
            #expect(state.refreshCount == 2)
        }
    }

    @Test("rotation also revokes tokens accepted by the accept-any rule")
    func rotationWithAnyToken() async throws {
        let options = SimulatorOptions(rotateRefreshTokens: true)
        try await Simulator.application(options, state: SimulatorState()).test(.router) { client in
            let (first, _) = try await Simulator.token(client, Simulator.tokenBody(refreshToken: "anything"))
            #expect(first == .ok)
            let (second, _) = try await Simulator.token(client, Simulator.tokenBody(refreshToken: "anything"))
            #expect(second == .badRequest)
        }
    }

    @Test("without rotation the same refresh token keeps working")
    func noRotation() async throws {
        let state = SimulatorState()
        try await Simulator.application(SimulatorOptions(refreshTokens: ["rt-1"]), state: state).test(.router) { client in
            let (first, _) = try await Simulator.token(client, Simulator.tokenBody())
            let (second, _) = try await Simulator.token(client, Simulator.tokenBody())
            #expect(first == .ok && second == .ok)
            #expect(state.refreshCount == 2)
        }
    }

    @Test(
        "bad requests get the OIDC error for their case",
        arguments: [
            (Simulator.tokenBody(clientSecret: "wrong").jsonString, HTTPResponse.Status.unauthorized, "invalid_client"),
            (Simulator.tokenBody(clientID: "other").jsonString, .unauthorized, "invalid_client"),
            (Simulator.tokenBody(refreshToken: "rt-unknown").jsonString, .badRequest, "invalid_grant"),
            (Simulator.tokenBody(refreshToken: "").jsonString, .badRequest, "invalid_grant"),
            (
                Simulator.tokenBody().setting("grantType", to: "authorization_code").jsonString,
                .badRequest, "unsupported_grant_type"
            ),
            ("{not json", .badRequest, "invalid_request"),
            (Simulator.tokenBody().setting("clientSecret", to: nil).jsonString, .badRequest, "invalid_request"),
            (Simulator.tokenBody().setting("refreshToken", to: nil).jsonString, .badRequest, "invalid_request"),
        ]
    )
    func errors(body: String, status: HTTPResponse.Status, error: String) async throws {
        let state = SimulatorState()
        let options = SimulatorOptions(clientID: "client", clientSecret: "secret", refreshTokens: ["rt-1"])
        try await Simulator.application(options, state: state).test(.router) { client in
            let response = try await client.execute(uri: "/token", method: .post, body: ByteBuffer(string: body))
            #expect(response.status == status)
            #expect(response.json["error"]?.stringValue == error)
            #expect(response.json["error_description"]?.stringValue?.isEmpty == false)
            #expect(state.refreshCount == 0)
        }
    }
}
