import ProxyModels
import Testing
import Upstream

/// How a reply of Kiro's auth service becomes a grant or an error the pool acts on.
@Suite("Kiro refresh replies")
struct KiroAuthClientTests {
    private func grant(_ status: Int, _ body: String) throws(KiroAuthError) -> KiroTokenGrant {
        try KiroAuthClient.grant(status: status, body: Array(body.utf8))
    }

    private func failure(_ status: Int, _ body: String) -> KiroAuthError? {
        do {
            _ = try grant(status, body)
            return nil
        } catch {
            return error
        }
    }

    @Test("a 200 gives the access token, the rotated refresh token, the lifetime and the profile")
    func fullReply() throws {
        let reply = try grant(
            200, #"{"accessToken":"aoa-1","refreshToken":"aor-2","expiresIn":3600,"profileArn":"arn:aws:codewhisperer:us-east-1:1:profile/X"}"#)
        #expect(
            reply
                == KiroTokenGrant(
                    accessToken: "aoa-1", expiresIn: 3600, refreshToken: "aor-2", profileARN: "arn:aws:codewhisperer:us-east-1:1:profile/X"))
    }

    @Test("a 200 without a refresh token or a profile keeps the old ones; without expiresIn the token lasts an hour")
    func minimalReply() throws {
        #expect(
            try grant(200, #"{"accessToken":"aoa-1","refreshToken":""}"#)
                == KiroTokenGrant(accessToken: "aoa-1", expiresIn: 3600, refreshToken: nil, profileARN: nil))
    }

    @Test("a 200 without an access token is retried, not taken as a refusal")
    func noAccessToken() {
        #expect(failure(200, #"{"refreshToken":"aor"}"#)?.kind == .transient)
        #expect(failure(200, "<html>")?.kind == .transient)
    }

    @Test("a refused refresh token (400 invalid_grant, 401, 403) is refused: the account must sign in again")
    func refused() {
        #expect(failure(400, #"{"error":"invalid_grant","error_description":"Invalid refresh token provided"}"#)?.kind == .refused)
        #expect(failure(401, #"{"message":"Unauthorized"}"#)?.kind == .refused)
        #expect(failure(403, "")?.kind == .refused)
    }

    @Test("throttling and server errors are retried; another 400 is retried with backoff, not refused")
    func retried() {
        #expect(failure(429, "")?.kind == .transient)
        #expect(failure(500, "")?.kind == .transient)
        #expect(failure(503, #"{"message":"unavailable"}"#)?.kind == .transient)
        #expect(failure(400, #"{"error":"some_other"}"#)?.kind == .rejected)
    }

    @Test("the error names the status and the service's code, never the body's tokens")
    func messageHasNoToken() {
        let error = failure(400, #"{"error":"invalid_grant","error_description":"Invalid refresh token provided","refreshToken":"aor-secret"}"#)
        #expect(error?.description == "kiro refused (HTTP 400): invalid_grant: Invalid refresh token provided")
        #expect(error?.description.contains("aor-secret") == false)
    }
}
