/// The device authorizations the simulated OIDC service has started, and what each poll of `/token` with the
/// device-code grant gets (AMAZON_Q.md §7.3, §7.4; RFC 8628).
///
/// A value type so that ``SimulatorState`` keeps it behind its one lock, next to the ``TokenLedger`` that
/// issues the tokens once a poll finds its authorization approved.
struct DeviceAuthorizations: Sendable {
    /// Where one authorization is in its life. Expiry is not a status: it is checked against the clock.
    enum Status: Sendable, Equatable {
        /// Waiting for the user. Valid transitions to: approved, denied.
        case pending
        /// The user said yes; the next poll gets the tokens. Valid transitions to: redeemed.
        case approved
        /// The user said no; every poll gets `access_denied`.
        case denied
        /// A poll got the tokens; the device code cannot be used again.
        case redeemed
    }

    struct Authorization: Sendable {
        var clientID: String
        var userCode: String
        var expiry: ContinuousClock.Instant
        /// The `interval` returned to the client, in seconds.
        var interval: Int
        var status = Status.pending
        var lastPoll: ContinuousClock.Instant?
        /// Polls answered `authorization_pending`, for ``SimulatorOptions/autoApproveDeviceAfterPolls``.
        var pendingPolls = 0
    }

    /// What a poll of `/token` with a device code gets.
    enum PollOutcome: Sendable, Equatable {
        case pending
        case slowDown
        case expired
        case denied
        /// Approved: the caller issues the tokens now; the device code is already marked redeemed.
        case approved
        /// Unknown, already redeemed, or issued to another client.
        case invalidGrant
    }

    /// Device code → its authorization.
    private var authorizations: [String: Authorization] = [:]
    /// Every authorization ever started, for `/__sim/state`.
    private(set) var started = 0

    /// Starts an authorization for `clientID` and returns its device code and user code.
    mutating func start(
        clientID: String, lifetime: Int, interval: Int, now: ContinuousClock.Instant
    ) -> (deviceCode: String, userCode: String) {
        // Long runs could start many; dropping finished and expired ones keeps the table small.
        if self.authorizations.count > 1024 {
            self.authorizations = self.authorizations.filter { $0.value.status != .redeemed && now < $0.value.expiry }
        }
        let deviceCode = RandomIdentifier.deviceCode()
        var userCode = RandomIdentifier.userCode()
        while self.authorizations.values.contains(where: { $0.userCode == userCode }) {
            userCode = RandomIdentifier.userCode()
        }
        self.authorizations[deviceCode] = Authorization(
            clientID: clientID, userCode: userCode, expiry: now.advanced(by: .seconds(max(lifetime, 0))), interval: interval
        )
        self.started += 1
        return (deviceCode, userCode)
    }

    /// Authorizations still waiting for the user and not expired at `now`.
    func pendingCount(now: ContinuousClock.Instant) -> Int {
        self.authorizations.values.count { $0.status == .pending && now < $0.expiry }
    }

    /// Moves pending authorizations to `status`: the one with `userCode`, or every one when it is nil.
    ///
    /// User codes compare without case and without the dash, as people type them.
    ///
    /// - Returns: How many changed; 0 when `userCode` is unknown or no longer pending.
    mutating func decide(userCode: String?, _ status: Status, now: ContinuousClock.Instant) -> Int {
        let wanted = userCode.map(Self.normalized)
        var changed = 0
        for (deviceCode, authorization) in self.authorizations
        where authorization.status == .pending && now < authorization.expiry
            && (wanted == nil || Self.normalized(authorization.userCode) == wanted)
        {
            self.authorizations[deviceCode]?.status = status
            changed += 1
        }
        return changed
    }

    /// Answers one poll with `deviceCode` by `clientID`.
    ///
    /// - Parameters:
    ///   - enforceSlowDown: Whether a poll less than `interval` seconds after the previous one gets `slow_down`.
    ///   - autoApproveAfter: Approve once this many polls were answered `authorization_pending`; nil never does.
    mutating func poll(
        deviceCode: String, clientID: String, now: ContinuousClock.Instant, enforceSlowDown: Bool, autoApproveAfter: Int?
    ) -> PollOutcome {
        guard var authorization = self.authorizations[deviceCode], authorization.clientID == clientID,
            authorization.status != .redeemed
        else {
            return .invalidGrant
        }
        defer { self.authorizations[deviceCode] = authorization }
        let previous = authorization.lastPoll
        authorization.lastPoll = now
        if now >= authorization.expiry { return .expired }
        if enforceSlowDown, let previous, previous.duration(to: now) < .seconds(authorization.interval) {
            return .slowDown
        }
        switch authorization.status {
        case .denied:
            return .denied
        case .pending:
            if let autoApproveAfter, authorization.pendingPolls >= autoApproveAfter {
                authorization.status = .redeemed
                return .approved
            }
            authorization.pendingPolls += 1
            return .pending
        case .approved:
            authorization.status = .redeemed
            return .approved
        case .redeemed:
            return .invalidGrant
        }
    }

    private static func normalized(_ userCode: String) -> String {
        userCode.uppercased().filter { $0 != "-" }
    }
}
