import Accounts
import Foundation
import HTTPTypes
import Logging
import Synchronization
import Upstream

/// Device-code logins started over HTTP (`POST /v2/auth/start`), each polled in the background until the user
/// approves, denies, or the code expires. An approved login becomes a run-time account in the state directory.
///
/// Many logins may run at once (bounded by ``maximumPending``); finished ones are kept for ``retention`` so a
/// client can still read the outcome, then dropped.
package final class DeviceLogins: Sendable {
    package enum Status: String, Sendable {
        case pending, completed, failed, expired
    }

    package struct Login: Sendable {
        package var id: String
        package var label: String
        package var enabled: Bool
        package var authorization: DeviceAuthorization
        package var expiresAt: ContinuousClock.Instant
        package var status: Status = .pending
        package var accountID: String?
        package var error: String?
        var finishedAt: ContinuousClock.Instant?

        /// Whole seconds until the device code expires (0 once it has).
        package var expiresIn: Int {
            max(0, Int(ContinuousClock.now.duration(to: expiresAt).components.seconds))
        }
    }

    /// What to do with an approved login: save the account and return its id.
    package typealias Completion = @Sendable (_ login: Login, _ registration: ClientRegistration, _ grant: TokenGrant) async throws -> String

    package static let maximumPending = 50
    package static let retention: Duration = .seconds(600)

    private struct Storage: Sendable {
        var logins: [String: Login] = [:]
        var tasks: [String: Task<Void, Never>] = [:]
    }

    private let storage = Mutex(Storage())
    private let oidc: OIDCClient
    private let logger: Logger

    package init(oidc: OIDCClient, logger: Logger) {
        self.oidc = oidc
        self.logger = logger
    }

    /// Registers a client, starts the device authorization and polls for its approval in the background.
    package func start(
        label: String, enabled: Bool, endpoint: String, startURL: String, pacing: DevicePollingPacing = .standard,
        complete: @escaping Completion
    ) async throws -> Login {
        prune()
        let pending = storage.withLock { $0.logins.values.filter { $0.status == .pending }.count }
        guard pending < Self.maximumPending else {
            throw AdminError(.tooManyRequests, "rate_limit_error", "\(pending) device logins are already pending; finish or let some expire first")
        }
        let registration: ClientRegistration
        let authorization: DeviceAuthorization
        do {
            registration = try await oidc.registerClient(endpoint: endpoint, logger: logger)
            authorization = try await oidc.startDeviceAuthorization(
                endpoint: endpoint, registration: registration, startURL: startURL, logger: logger)
        } catch {
            throw AdminError(.badGateway, "upstream_error", "the OIDC service refused to start a device login: \(error)")
        }
        let id = "auth_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(20)
        let login = Login(
            id: id, label: label, enabled: enabled, authorization: authorization,
            expiresAt: .now + .seconds(max(1, authorization.expiresIn)))
        storage.withLock { $0.logins[id] = login }
        let task = Task { [self] in
            let outcome: (Status, String?, String?)
            do {
                let grant = try await oidc.waitForDeviceToken(
                    endpoint: endpoint, registration: registration, authorization: authorization, pacing: pacing, logger: logger)
                let accountID = try await complete(login, registration, grant)
                outcome = (.completed, accountID, nil)
            } catch is CancellationError {
                outcome = (.failed, nil, "the server is shutting down")
            } catch let error as OIDCError where error.kind == .expiredToken {
                outcome = (.expired, nil, "the code expired before it was approved; start again")
            } catch let error as OIDCError where error.kind == .accessDenied {
                outcome = (.failed, nil, "the login was denied")
            } catch {
                outcome = (.failed, nil, "\(error)")
            }
            finish(id, status: outcome.0, accountID: outcome.1, error: outcome.2)
        }
        storage.withLock { $0.tasks[id] = task }
        return login
    }

    package func login(_ id: String) -> Login? {
        prune()
        return storage.withLock { $0.logins[id] }
    }

    /// Waits until the login is no longer pending, or `timeout` passes; returns it as it stands then.
    /// (Polls every 200 ms: a claim is a rare, human-paced call.)
    package func waitForOutcome(_ id: String, timeout: Duration) async -> Login? {
        guard let first = login(id) else { return nil }
        let deadline = min(first.expiresAt + .seconds(5), .now + timeout)
        var current = first
        while current.status == .pending, ContinuousClock.now < deadline, !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(200))
            guard let latest = storage.withLock({ $0.logins[id] }) else { return current }
            current = latest
        }
        return current
    }

    /// Cancels every running login (at shutdown).
    package func cancelAll() {
        let tasks = storage.withLock { Array($0.tasks.values) }
        for task in tasks { task.cancel() }
    }

    private func finish(_ id: String, status: Status, accountID: String?, error: String?) {
        storage.withLock { storage in
            storage.logins[id]?.status = status
            storage.logins[id]?.accountID = accountID
            storage.logins[id]?.error = error
            storage.logins[id]?.finishedAt = .now
            storage.tasks[id] = nil
        }
        logger.info(
            "device login finished",
            metadata: ["auth.id": "\(id)", "status": "\(status.rawValue)", "account": "\(accountID ?? "-")"])
    }

    private func prune() {
        let now = ContinuousClock.now
        storage.withLock { storage in
            storage.logins = storage.logins.filter { _, login in
                guard let finished = login.finishedAt else { return true }
                return now < finished + Self.retention
            }
        }
    }
}
