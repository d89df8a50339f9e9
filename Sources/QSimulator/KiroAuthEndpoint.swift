import HTTPTypes
import Hummingbird
import NIOCore
import ProxyModels

/// `POST /refreshToken`: Kiro's desktop auth service (`prod.<region>.auth.desktop.kiro.dev`), the refresh of a
/// `kind: kiro` account.
///
/// Takes `{"refreshToken": ...}` and answers `{"accessToken", "refreshToken", "expiresIn", "profileArn"}`. It
/// shares the OIDC `/token` endpoint's ledger and knobs: the accepted refresh tokens
/// (``SimulatorOptions/refreshTokens``), rotation, the access-token lifetime, ``SimulatorOptions/tokenDelay``
/// and `POST /__sim/expire-tokens`. The access tokens it issues are Kiro ones: `POST /` then also checks the
/// request's `profileArn` and its Kiro user agents. A refused refresh token gets 400 `invalid_grant`, the
/// shape the open-source Kiro clients match on (the README's Kiro protocol notes).
enum KiroAuthEndpoint {
    static func respond(to request: Request, options: SimulatorOptions, state: SimulatorState) async throws -> Response {
        guard let body = try await TokenEndpoint.jsonObject(request), let refreshToken = body["refreshToken"]?.stringValue,
            !refreshToken.isEmpty
        else {
            return TokenEndpoint.error(.badRequest, "invalid_request", "refreshToken is required")
        }
        state.recordKiroRefreshUserAgent(request.headers[.userAgent] ?? "")
        if options.tokenDelay > .zero {
            state.refreshStarted()
            try? await Task.sleep(for: options.tokenDelay)
            state.refreshFinished()
        }
        switch state.refresh(refreshToken, clientID: Self.ledgerClient, options: options, kiroProfileARN: options.kiroProfileARN) {
        case .invalidGrant:
            return TokenEndpoint.error(.badRequest, "invalid_grant", "Invalid refresh token provided")
        case .issued(let accessToken, let rotated):
            let reply: JSONValue = [
                "accessToken": .string(accessToken),
                "refreshToken": .string(rotated ?? refreshToken),
                "expiresIn": .int(options.accessTokenLifetime),
                "profileArn": .string(options.kiroProfileARN),
            ]
            guard options.tokenDelay > .zero else { return TokenEndpoint.json(.ok, reply) }
            // Crash-test mode, as `/token`: a rotation counts only if its reply could be written.
            let bytes = reply.jsonBytes
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: ResponseBody { writer in
                    do {
                        try await writer.write(ByteBuffer(bytes: bytes.prefix(1)))
                        try await Task.sleep(for: .milliseconds(100))
                        try await writer.write(ByteBuffer(bytes: bytes.dropFirst()))
                        try await writer.finish(nil)
                    } catch {
                        if let rotated { state.undoRotation(old: refreshToken, new: rotated) }
                        throw error
                    }
                })
        }
    }

    /// The key of Kiro refreshes in ``SimulatorState/refreshesByClient`` (they have no OIDC client).
    static let ledgerClient = "kiro"

    /// Kiro's checks of `POST /` for a Kiro access token: the body names a CodeWhisperer profile (the new Kiro
    /// runtime answers "profileArn is required for this request" otherwise), and the user agents are a Kiro
    /// client's (`KiroIDE-<version>-<machine id>`).
    static func checkKiroRequest(_ headers: HTTPFields, body: JSONValue) throws(QServiceError) {
        guard let arn = body["profileArn"]?.stringValue, arn.hasPrefix("arn:aws:codewhisperer:") else {
            throw QServiceError.improperlyFormed("profileArn is required for this request (a Kiro access token)")
        }
        for name in [HTTPField.Name.userAgent, SimulatorHeader.amzUserAgent] {
            guard let value = headers[name], value.contains("KiroIDE-") else {
                throw QServiceError.invalidBearerToken(violation: "\(name) is not a Kiro client's (KiroIDE-<version>-<machine id>)")
            }
        }
    }
}
