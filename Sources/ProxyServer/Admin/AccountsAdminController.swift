import Accounts
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ProxyConfig
import ProxyModels

/// `/v2/accounts`: list, inspect, create (run-time), edit, enable/disable, refresh and delete accounts.
///
/// Ownership: an account declared in `q2api.yaml` is the file's. Its label, weight, credentials and existence are
/// edited there (the API answers 409 saying so); enabling, disabling and refreshing work, and are recorded in the
/// state directory as an operator override that survives reloads and restarts. Accounts created here or by a device
/// login live in the state directory and may be edited and deleted.
struct AccountsAdminController: Sendable {
    let runtime: ProxyRuntime

    func addRoutes(to group: RouterGroup<ProxyRequestContext>) {
        group.get("accounts", use: list)
        group.post("accounts", use: create)
        group.get("accounts/:id", use: show)
        group.patch("accounts/:id", use: edit)
        group.delete("accounts/:id", use: delete)
        group.post("accounts/:id/enable") { request, context in try await setEnabled(request, context: context, enabled: true) }
        group.post("accounts/:id/disable") { request, context in try await setEnabled(request, context: context, enabled: false) }
        group.post("accounts/:id/refresh", use: refresh)
    }

    // MARK: - Reading

    @Sendable func list(_ request: Request, context: ProxyRequestContext) async throws -> Response {
        AdminJSON.response(["accounts": .array(runtime.pool.snapshot().map(accountJSON))])
    }

    @Sendable func show(_ request: Request, context: ProxyRequestContext) async throws -> Response {
        AdminJSON.response(accountJSON(try account(context)))
    }

    // MARK: - Changing

    @Sendable func create(_ request: Request, context: ProxyRequestContext) async throws -> Response {
        let body = try await AdminJSON.body(
            request, allowed: ["id", "label", "client_id", "client_secret", "refresh_token", "profile_arn", "enabled", "weight"])
        let clientID = try AdminJSON.requiredString(body, "client_id")
        let clientSecret = try AdminJSON.requiredString(body, "client_secret")
        let refreshToken = try AdminJSON.requiredString(body, "refresh_token")
        let label = try AdminJSON.optionalString(body, "label") ?? ""
        let profileARN = try AdminJSON.optionalString(body, "profile_arn").flatMap { $0.isEmpty ? nil : $0 }
        if let profileARN, !profileARN.hasPrefix("arn:") { throw AdminError.invalid("profile_arn must be an ARN starting with 'arn:'") }
        let enabled = try AdminJSON.optionalBool(body, "enabled") ?? true
        let weight = try AdminJSON.optionalInt(body, "weight", minimum: 1) ?? 1
        let taken = runtime.accountIDsInUse()
        let id: String
        if let given = try AdminJSON.optionalString(body, "id"), !given.isEmpty {
            guard ProxyConfig.Account.isValidID(given) else {
                throw AdminError.invalid("id must be \(ProxyConfig.Account.idRule)")
            }
            guard !taken.contains(given) else { throw AdminError.conflict("an account with id \(given) already exists") }
            id = given
        } else {
            id = AccountStateStore.accountID(fromLabel: label.isEmpty ? "account" : label, taken: taken)
        }
        guard let refresher = runtime.tokenRefresher, let persistence = runtime.persistence else {
            throw AdminError(.serviceUnavailable, "unavailable", "this server has no state directory to keep run-time accounts in")
        }
        // Validate by a refresh before anything is saved: bad credentials never become an account.
        let credentials = AccountCredentials(
            id: id, label: label.isEmpty ? id : label, clientID: clientID, clientSecret: clientSecret, refreshToken: refreshToken,
            profileARN: profileARN)
        let token: RefreshedToken
        do {
            token = try await refresher(credentials)
        } catch {
            throw AdminError(.init(code: 422), "invalid_credentials", "the OIDC service refused these credentials: \(error.message)")
        }
        do {
            try persistence.store.saveNewAccount(
                id: id, label: credentials.label, clientID: clientID, clientSecret: clientSecret, profileARN: profileARN, weight: weight,
                tokens: NewAccountTokens(
                    seedRefreshToken: refreshToken, currentRefreshToken: token.refreshToken ?? refreshToken, accessToken: token.accessToken,
                    expiresAt: Date().addingTimeInterval(Double(token.expiresIn.components.seconds))))
            if !enabled { try persistence.recordOperatorStatus(id, enabled: false, reason: "created disabled") }
        } catch {
            throw AdminError(.internalServerError, "state_error", "the account could not be saved: \(error)")
        }
        _ = await runtime.reloadNow(trigger: .stateDirectory)
        audit(context, "account created", id)
        guard let snapshot = runtime.pool.snapshot().first(where: { $0.id == id }) else {
            throw AdminError(.internalServerError, "state_error", "the account was saved but did not load; see the server log")
        }
        return AdminJSON.response(accountJSON(snapshot), status: .created)
    }

    @Sendable func edit(_ request: Request, context: ProxyRequestContext) async throws -> Response {
        let current = try account(context)
        let body = try await AdminJSON.body(request, allowed: ["label", "enabled", "weight"])
        let label = try AdminJSON.optionalString(body, "label")
        let weight = try AdminJSON.optionalInt(body, "weight", minimum: 1)
        let enabled = try AdminJSON.optionalBool(body, "enabled")
        if source(of: current.id) == .yaml, label != nil || weight != nil {
            throw AdminError.conflict("account \(current.id) is declared in q2api.yaml: change its label and weight there, then reload")
        }
        if label != nil || weight != nil { try rewriteRecord(current.id, label: label, weight: weight) }
        if let enabled { try applyEnabled(current.id, enabled: enabled, context: context) }
        if label != nil || weight != nil {
            _ = await runtime.reloadNow(trigger: .stateDirectory)
            audit(context, "account edited", current.id)
        }
        return AdminJSON.response(accountJSON(try account(context)))
    }

    func setEnabled(_ request: Request, context: ProxyRequestContext, enabled: Bool) async throws -> Response {
        let current = try account(context)
        try applyEnabled(current.id, enabled: enabled, context: context)
        return AdminJSON.response(accountJSON(try account(context)))
    }

    @Sendable func delete(_ request: Request, context: ProxyRequestContext) async throws -> Response {
        let current = try account(context)
        guard source(of: current.id) == .state, let persistence = runtime.persistence else {
            throw AdminError.conflict("account \(current.id) is declared in q2api.yaml: remove it there, then reload")
        }
        do {
            try persistence.store.removeFile(accountID: current.id)
        } catch {
            throw AdminError(.internalServerError, "state_error", "the account's state file could not be removed: \(error)")
        }
        _ = await runtime.reloadNow(trigger: .stateDirectory)
        audit(context, "account deleted", current.id)
        return AdminJSON.response(["deleted": .string(current.id)])
    }

    @Sendable func refresh(_ request: Request, context: ProxyRequestContext) async throws -> Response {
        let current = try account(context)
        audit(context, "token refresh requested", current.id)
        do {
            try await runtime.pool.refresh(current.id, force: true)
        } catch {
            throw AdminError(.badGateway, "refresh_failed", "the token refresh failed: \(error)")
        }
        return AdminJSON.response(accountJSON(try account(context)))
    }

    // MARK: - Helpers

    private func account(_ context: ProxyRequestContext) throws -> AccountSnapshot {
        let id = context.parameters.get("id") ?? ""
        guard let snapshot = runtime.pool.snapshot().first(where: { $0.id == id }) else {
            throw AdminError.notFound("no account with id \(id.prefix(80))")
        }
        return snapshot
    }

    private func source(of id: String) -> AccountListing.Source {
        runtime.persistence?.source(of: id) ?? .yaml
    }

    private func applyEnabled(_ id: String, enabled: Bool, context: ProxyRequestContext) throws {
        if enabled, source(of: id) == .yaml, runtime.config?.accounts.first(where: { $0.id == id })?.enabled == false {
            throw AdminError.conflict("account \(id) says enabled: false in q2api.yaml: change it there, then reload")
        }
        runtime.pool.setEnabled(id, enabled: enabled)
        do {
            try runtime.persistence?.recordOperatorStatus(
                id, enabled: enabled, reason: "\(enabled ? "enabled" : "disabled") by \(context.adminKeyID ?? "an operator")")
        } catch {
            throw AdminError(.internalServerError, "state_error", "the change applies now but could not be recorded: \(error)")
        }
        audit(context, enabled ? "account enabled" : "account disabled", id)
    }

    /// Writes a new `account` record for a run-time account with a changed label or weight.
    private func rewriteRecord(_ id: String, label: String?, weight: Int?) throws {
        guard let persistence = runtime.persistence,
            let record = AccountStateStore.load(directory: persistence.store.directory)[id]?.account
        else { throw AdminError.conflict("account \(id) has no account record in the state directory") }
        do {
            try persistence.store.appendAccount(
                accountID: id, label: label ?? record.label, clientID: record.clientID, clientSecret: record.clientSecret,
                refreshToken: record.refreshToken, profileARN: record.profileARN, enabled: record.enabled, weight: weight ?? record.weight,
                region: record.region, endpoint: record.endpoint)
        } catch {
            throw AdminError(.internalServerError, "state_error", "the account could not be saved: \(error)")
        }
    }

    private func audit(_ context: ProxyRequestContext, _ what: String, _ id: String) {
        runtime.logger.notice(
            "admin: \(what)", metadata: ["account": "\(id)", "admin.key": "\(context.adminKeyID ?? "-")", "request.id": "\(context.requestID)"])
    }

    /// One account for the admin API and the console: health, counters, token expiry, source; never a secret.
    func accountJSON(_ account: AccountSnapshot) -> JSONValue {
        var json = HealthController.row(account, source: runtime.persistence?.source(of: account.id))
        let stats = runtime.persistence?.store.stats(accountID: account.id)
        let enabled: Bool
        if case .disabled = account.health { enabled = false } else { enabled = true }
        json = json.setting("enabled", to: .bool(enabled))
            .setting("weight", to: .int(account.weight))
            .setting("tier", to: .int(account.tier))
            .setting("token_expires_at", to: account.tokenExpiresAt.map { .string($0.description) } ?? .null)
            .setting("token_valid", to: .bool(account.tokenValid))
            .setting("last_error_at", to: account.status.lastErrorAt.map { .string($0.description) } ?? .null)
            .setting("total_successes", to: stats.map { .int($0.successes) } ?? .null)
            .setting("total_failures", to: stats.map { .int($0.failures) } ?? .null)
            .setting("input_tokens", to: stats.map { .int($0.inputTokens) } ?? .null)
            .setting("output_tokens", to: stats.map { .int($0.outputTokens) } ?? .null)
            .setting("kind", to: .string(account.kind.rawValue))
            // A Kiro account has no client registration.
            .setting(
                "credentials",
                to: account.kind == .kiro ? ["refresh_token": "set"] : ["client_id": "set", "client_secret": "set", "refresh_token": "set"])
        return json
    }
}

extension ProxyRuntime {
    /// Account ids in use: the pool's, the YAML's (other shards' included) and every state file's, so a new
    /// run-time account never takes an id that exists anywhere.
    func accountIDsInUse() -> Set<String> {
        var ids = Set(pool.snapshot().map(\.id))
        ids.formUnion(config?.accounts.map(\.id) ?? [])
        if let directory = persistence?.store.directory { ids.formUnion(AccountStateStore.load(directory: directory).keys) }
        return ids
    }
}

/// Reading and writing the admin API's JSON.
enum AdminJSON {
    static func response(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: value.jsonBytes)))
    }

    /// The request's JSON object (an empty body is `{}`), with unknown members refused.
    static func body(_ request: Request, allowed: [String]) async throws -> JSONValue {
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: 1024 * 1024)
        } catch {
            throw AdminError(.contentTooLarge, "invalid_request", "the request body is larger than 1 MiB")
        }
        if buffer.readableBytes == 0 { return .object([]) }
        guard let value = try? JSONParser.parse(Array(buffer.readableBytesView)), case .object(let members) = value else {
            throw AdminError.invalid("the request body must be a JSON object")
        }
        if let unknown = members.first(where: { !allowed.contains($0.key) }) {
            throw AdminError.invalid("unknown member \(unknown.key.prefix(40)); allowed: \(allowed.joined(separator: ", "))")
        }
        return value
    }

    static func requiredString(_ body: JSONValue, _ key: String) throws -> String {
        guard let value = try optionalString(body, key), !value.isEmpty else { throw AdminError.invalid("\(key) is required") }
        return value
    }

    static func optionalString(_ body: JSONValue, _ key: String) throws -> String? {
        guard let value = body[key], value != .null else { return nil }
        guard let text = value.stringValue else { throw AdminError.invalid("\(key) must be a string") }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func optionalBool(_ body: JSONValue, _ key: String) throws -> Bool? {
        guard let value = body[key], value != .null else { return nil }
        guard case .bool(let flag) = value else { throw AdminError.invalid("\(key) must be true or false") }
        return flag
    }

    static func optionalInt(_ body: JSONValue, _ key: String, minimum: Int) throws -> Int? {
        guard let value = body[key], value != .null else { return nil }
        guard let number = value.intValue, number >= minimum else { throw AdminError.invalid("\(key) must be an integer >= \(minimum)") }
        return number
    }
}
