import Accounts
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import ProxyConfig
import ProxyModels
import Upstream

/// The device-code login over HTTP, in the shapes other proxies' users know:
/// `POST /v2/auth/start` → `GET /v2/auth/status/{authId}` → `POST /v2/auth/claim/{authId}`.
struct DeviceLoginController: Sendable {
    let runtime: ProxyRuntime

    func addRoutes(to group: RouterGroup<ProxyRequestContext>) {
        group.post("auth/start", use: start)
        group.get("auth/status/:authId", use: status)
        group.post("auth/claim/:authId", use: claim)
    }

    @Sendable func start(_ request: Request, context: ProxyRequestContext) async throws -> Response {
        let body = try await AdminJSON.body(request, allowed: ["label", "enabled", "start_url", "region"])
        let label = try AdminJSON.optionalString(body, "label") ?? ""
        let enabled = try AdminJSON.optionalBool(body, "enabled") ?? true
        let startURL = try AdminJSON.optionalString(body, "start_url").flatMap { $0.isEmpty ? nil : $0 } ?? OIDCClient.builderIDStartURL
        guard startURL.hasPrefix("https://") || startURL.hasPrefix("http://") else { throw AdminError.invalid("start_url must be an http(s) URL") }
        var endpoint = runtime.config?.upstream.oidcEndpoint.absoluteString ?? OIDCClient.builderIDEndpoint
        if let region = try AdminJSON.optionalString(body, "region"), !region.isEmpty {
            guard ProxyConfig.Account.isValidRegion(region) else { throw AdminError.invalid("region must look like us-east-1") }
            endpoint = "https://oidc.\(region).amazonaws.com"
        }
        guard let logins = runtime.deviceLogins, let persistence = runtime.persistence else {
            throw AdminError(.serviceUnavailable, "unavailable", "device login needs a state directory")
        }
        let runtime = self.runtime
        let login = try await logins.start(label: label, enabled: enabled, endpoint: endpoint, startURL: startURL) { login, registration, grant in
            let id = AccountStateStore.accountID(fromLabel: login.label.isEmpty ? "device" : login.label, taken: runtime.accountIDsInUse())
            guard let refreshToken = grant.refreshToken else {
                throw AdminError(.badGateway, "upstream_error", "the login returned no refresh token")
            }
            try persistence.store.saveNewAccount(
                id: id, label: login.label.isEmpty ? id : login.label, clientID: registration.clientID, clientSecret: registration.clientSecret,
                profileARN: nil,
                tokens: NewAccountTokens(
                    seedRefreshToken: refreshToken, currentRefreshToken: refreshToken, accessToken: grant.accessToken,
                    expiresAt: Date().addingTimeInterval(Double(grant.expiresIn))))
            if !login.enabled { try persistence.recordOperatorStatus(id, enabled: false, reason: "created disabled") }
            _ = await runtime.reloadNow(trigger: .stateDirectory)
            return id
        }
        runtime.logger.notice("admin: device login started", metadata: ["auth.id": "\(login.id)", "admin.key": "\(context.adminKeyID ?? "-")"])
        return AdminJSON.response([
            "authId": .string(login.id), "verificationUri": .string(login.authorization.verificationURI),
            "verificationUriComplete": .string(login.authorization.verificationURIComplete), "userCode": .string(login.authorization.userCode),
            "expiresIn": .int(login.expiresIn), "interval": .int(login.authorization.interval),
        ])
    }

    @Sendable func status(_ request: Request, context: ProxyRequestContext) async throws -> Response {
        AdminJSON.response(json(try find(context)))
    }

    /// Waits (up to the login's remaining time, at most 10 minutes) for the outcome, then returns it with the account.
    @Sendable func claim(_ request: Request, context: ProxyRequestContext) async throws -> Response {
        let pending = try find(context)
        guard let login = await runtime.deviceLogins?.waitForOutcome(pending.id, timeout: .seconds(600)) else {
            throw AdminError.notFound("no device login \(pending.id)")
        }
        var body = json(login)
        if let id = login.accountID, let snapshot = runtime.pool.snapshot().first(where: { $0.id == id }) {
            body = body.setting("account", to: AccountsAdminController(runtime: runtime).accountJSON(snapshot))
        }
        return AdminJSON.response(body)
    }

    private func find(_ context: ProxyRequestContext) throws -> DeviceLogins.Login {
        let id = context.parameters.get("authId") ?? ""
        guard let login = runtime.deviceLogins?.login(id) else {
            throw AdminError.notFound("no device login \(id.prefix(80)) (finished ones are kept 10 minutes)")
        }
        return login
    }

    private func json(_ login: DeviceLogins.Login) -> JSONValue {
        [
            "authId": .string(login.id), "status": .string(login.status.rawValue), "label": .string(login.label),
            "accountId": login.accountID.map(JSONValue.string) ?? .null, "error": login.error.map(JSONValue.string) ?? .null,
            "expiresIn": .int(login.expiresIn),
        ]
    }
}
