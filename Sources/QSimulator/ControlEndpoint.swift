import Hummingbird
import ProxyModels

/// `/__sim/...`: lets a test or a person driving the CLI simulator observe and steer it over HTTP, for
/// when it runs in another process.
enum ControlEndpoint {
    /// `GET /__sim/state`: the counters of ``SimulatorState``.
    static func stateResponse(_ state: SimulatorState) -> Response {
        TokenEndpoint.json(
            .ok,
            [
                "openStreams": .int(state.openStreams),
                "framesSent": .int(state.framesSent),
                "replyBytesSent": .int(state.replyBytesSent),
                "totalRequests": .int(state.totalRequests),
                "modelListings": .int(state.modelListings),
                "rejectedRequests": .int(state.rejectedRequests),
                "rejections": .array(state.rejections.map { .string($0) }),
                "authFailures": .int(state.authFailures),
                "scriptedFailures": .int(state.scriptedFailures),
                "planReplies": .int(state.planReplies),
                "requestsByProfile": .object(state.requestsByProfile.sorted { $0.key < $1.key }.map { JSONMember($0.key, .int($0.value)) }),
                "refreshCount": .int(state.refreshCount),
                "refreshesByClient": .object(state.refreshesByClient.sorted { $0.key < $1.key }.map { JSONMember($0.key, .int($0.value)) }),
                "refreshesInFlight": .int(state.refreshesInFlight),
                "heldStreams": .int(state.heldStreams),
                "registeredClients": .int(state.registeredClients),
                "deviceAuthorizations": .int(state.deviceAuthorizationsStarted),
                "pendingDeviceAuthorizations": .int(state.pendingDeviceAuthorizations),
                "devicePolls": .int(state.devicePolls),
                "deviceSlowDowns": .int(state.deviceSlowDowns),
                "deviceTokensIssued": .int(state.deviceTokensIssued),
            ]
        )
    }

    /// `POST /__sim/release`: releases every held stream and says how many there were.
    static func release(_ state: SimulatorState) -> Response {
        let held = state.releaseAllHeld()
        return TokenEndpoint.json(.ok, ["released": .int(held)])
    }

    /// `POST /__sim/expire-tokens`: expires every access token issued so far.
    static func expireTokens(_ state: SimulatorState) -> Response {
        state.expireAllAccessTokens()
        return TokenEndpoint.json(.ok, ["expired": true])
    }
}
