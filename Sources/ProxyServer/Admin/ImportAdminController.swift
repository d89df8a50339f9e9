import Accounts
import CredentialImport
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import ProxyConfig
import ProxyModels

/// `POST /v2/accounts/import`: the JSON of a token file a user already has (the Kiro IDE's `kiro-auth-token.json`,
/// an AWS SSO cache file, or a CLI database's token row), made into a run-time account as `q2api import` makes one.
///
/// The format is detected from the members. An Identity Center / Builder ID token that keeps its client
/// registration in a second file (the Kiro IDE's `<clientIdHash>.json`, a CLI's `device-registration` row) takes
/// that file as `client_file`. With `dry_run` the reply shows what would be imported (secrets redacted) and
/// nothing is refreshed or written; otherwise the credentials are refreshed first and saved only when that works.
///
/// Imports are taken one at a time (the router, and so this controller, is built once per runtime): two at once
/// would plan the same free account id.
struct ImportAdminController: Sendable {
    let runtime: ProxyRuntime
    private let gate = SerialGate()

    init(runtime: ProxyRuntime) {
        self.runtime = runtime
    }

    func addRoutes(to group: RouterGroup<ProxyRequestContext>) {
        group.post("accounts/import", use: importCredentials)
    }

    @Sendable func importCredentials(_ request: Request, context: ProxyRequestContext) async throws -> Response {
        let body = try await AdminJSON.body(request, allowed: ["token_file", "client_file", "label", "dry_run"])
        let token = try Self.document(body, "token_file", required: true)
        let client = try Self.document(body, "client_file", required: false)
        let label = try AdminJSON.optionalString(body, "label").flatMap { $0.isEmpty ? nil : $0 }
        let dryRun = try AdminJSON.optionalBool(body, "dry_run") ?? false
        let candidate: ImportCandidate
        do {
            candidate = try TokenFileParser.candidate(token: token ?? .object([]), registration: client, source: "import", origin: "token_file")
        } catch {
            throw AdminError.invalid(
                error.kind == .missingFile
                    ? "token_file needs its client registration (clientId, clientSecret): send that file as client_file"
                    : error.message)
        }
        guard let refresher = runtime.tokenRefresher, let persistence = runtime.persistence else {
            throw AdminError(.serviceUnavailable, "unavailable", "this server has no state directory to keep run-time accounts in")
        }
        return try await gate.run {
            try await save(candidate, label: label, dryRun: dryRun, refresher: refresher, persistence: persistence, context: context)
        }
    }

    /// Plans, refreshes and saves one candidate; called one at a time.
    private func save(
        _ candidate: ImportCandidate, label: String?, dryRun: Bool, refresher: @escaping TokenRefresher, persistence: AccountStatePersistence,
        context: ProxyRequestContext
    ) async throws -> Response {
        var existing = ExistingAccounts(stateDirectory: persistence.store.directory, config: runtime.config)
        existing.ids.formUnion(runtime.accountIDsInUse())
        // The server's own store: its state directory watcher then knows these writes and does not reload for them.
        let importer = CredentialImporter(
            store: persistence.store, existing: existing, refresher: refresher,
            oidcRegion: runtime.config.flatMap { CredentialImporter.region(ofOIDCEndpoint: $0.upstream.oidcEndpoint) }, logger: runtime.logger)
        guard let step = importer.plan([candidate], label: label).first else { throw AdminError.invalid("token_file holds no credentials") }
        var reply: JSONValue = ["dry_run": .bool(dryRun), "candidate": Self.json(candidate)]
        switch step.action {
        case .alreadyPresent(let id):
            return AdminJSON.response(reply.setting("status", to: "already_present").setting("account_id", to: .string(id)))
        case .add(let id) where dryRun:
            return AdminJSON.response(reply.setting("status", to: "would_import").setting("account_id", to: .string(id)))
        case .add(let id):
            do {
                try await importer.add(candidate, as: id, label: label ?? id)
            } catch {
                switch error.kind {
                case .refused: throw AdminError(.init(code: 422), "invalid_credentials", error.message)
                case .unreachable: throw AdminError(.badGateway, "upstream_error", error.message)
                default: throw AdminError(.internalServerError, "state_error", error.message)
                }
            }
            _ = await runtime.reloadNow(trigger: .stateDirectory)
            runtime.logger.notice(
                "admin: credentials imported",
                metadata: ["account": "\(id)", "admin.key": "\(context.adminKeyID ?? "-")", "request.id": "\(context.requestID)"])
            reply = reply.setting("status", to: "imported").setting("account_id", to: .string(id))
            if let snapshot = runtime.pool.snapshot().first(where: { $0.id == id }) {
                reply = reply.setting("account", to: AccountsAdminController(runtime: runtime).accountJSON(snapshot))
            }
            return AdminJSON.response(reply, status: .created)
        }
    }

    /// A member holding a token file: the file's JSON object, or its text.
    private static func document(_ body: JSONValue, _ key: String, required: Bool) throws -> JSONValue? {
        guard let value = body[key], value != .null else {
            if required { throw AdminError.invalid("\(key) is required: the JSON of a token file") }
            return nil
        }
        if case .object = value { return value }
        if let text = value.stringValue, let parsed = try? JSONParser.parse(text), case .object = parsed { return parsed }
        throw AdminError.invalid("\(key) must be a JSON object (the content of the token file)")
    }

    /// The candidate for the reply: what it is and where it came from, never a secret.
    private static func json(_ candidate: ImportCandidate) -> JSONValue {
        var json: JSONValue = [
            "format": .string(candidate.format), "kind": .string(candidate.kind),
            "refresh_token_fingerprint": .string(candidate.fingerprint),
            "client_id": candidate.clientID.map { .string(Redaction.mask($0)) } ?? .null,
            "sign_in": candidate.signIn.map { .string($0) } ?? .null, "region": candidate.region.map { .string($0) } ?? .null,
            "profile_arn": candidate.profileARN.map { .string($0) } ?? .null,
            "start_url": candidate.startURL.map { .string($0) } ?? .null,
        ]
        json = json.setting(
            "access_token_expires_at",
            to: candidate.expiresAt.map { .string(ISO8601DateFormatter().string(from: $0)) } ?? .null)
        return json
    }
}
