import Logging
import ProxyConfig

/// Checking an account out and recording how its request went: the balancing and health transitions.
extension AccountPoolState {
    /// Picks an account for a request: the session's bound account when it is eligible, else the
    /// lowest tier with an eligible account, then the configured strategy within that tier.
    package mutating func checkout(now: PoolInstant, sessionKey: String? = nil, excluding: Set<String> = []) -> CheckoutDecision {
        if entries.isEmpty { return .noneConfigured }
        var candidates: [(index: Int, id: String)] = []
        for (index, id) in order.enumerated() where !excluding.contains(id) {
            if let entry = entries[id], isEligible(entry, now: now) { candidates.append((index, id)) }
        }
        guard !candidates.isEmpty else { return unavailable(now: now, excluding: excluding) }

        var chosen: String?
        var rebind = sessionKey != nil
        if let sessionKey, let binding = bindings[sessionKey], binding.expiresAt > now, let bound = entries[binding.account] {
            if candidates.contains(where: { $0.id == binding.account }) {
                chosen = binding.account
            } else if case .active = bound.status.health {
                // Still healthy, only excluded for this request (it just failed once): keep the binding.
                rebind = false
            }
        }
        if chosen == nil { chosen = pick(from: candidates) }
        let id = chosen!
        if let sessionKey {
            if rebind || bindings[sessionKey]?.account == id {
                bind(sessionKey, to: id, now: now)
            }
        }
        entries[id]!.inFlight += 1
        if entries[id]!.status.health != .active { entries[id]!.probeInFlight = true }
        return .account(entries[id]!.credentials)
    }

    /// Checks out the account `id` when it is eligible now.
    package mutating func checkout(only id: String, now: PoolInstant) -> CheckoutDecision {
        guard let entry = entries[id], isEligible(entry, now: now) else { return .noneUsable }
        entries[id]!.inFlight += 1
        if entry.status.health != .active { entries[id]!.probeInFlight = true }
        return .account(entry.credentials)
    }

    func unavailable(now: PoolInstant, excluding: Set<String>) -> CheckoutDecision {
        var earliest: PoolInstant?
        for (id, entry) in entries where !excluding.contains(id) {
            guard case .cooling(let until) = entry.status.health else { continue }
            // A cooling account whose probe is in flight may come back any moment.
            let back = max(until, now + .seconds(1))
            earliest = min(earliest ?? back, back)
        }
        guard let earliest else { return .noneUsable }
        return .allCooling(retryAfter: max(.seconds(1), now.duration(to: earliest)))
    }

    mutating func pick(from candidates: [(index: Int, id: String)]) -> String {
        let tier = candidates.map { entries[$0.id]!.credentials.tier }.min()!
        let inTier = candidates.filter { entries[$0.id]!.credentials.tier == tier }
        switch configuration.strategy {
        case .random:
            return inTier[Int.random(in: 0..<inTier.count, using: &rng)].id
        case .weighted:
            let weights = inTier.map { max(1, entries[$0.id]!.credentials.weight) }
            var ticket = Int.random(in: 0..<weights.reduce(0, +), using: &rng)
            for (candidate, weight) in zip(inTier, weights) {
                ticket -= weight
                if ticket < 0 { return candidate.id }
            }
            return inTier[inTier.count - 1].id
        case .leastInflight:
            let least = inTier.map { entries[$0.id]!.inFlight }.min()!
            let ties = inTier.filter { entries[$0.id]!.inFlight == least }
            return ties[Int.random(in: 0..<ties.count, using: &rng)].id
        case .roundRobin:
            let next = inTier.first { $0.index > roundRobinLast } ?? inTier[0]
            roundRobinLast = next.index
            return next.id
        }
    }

    mutating func bind(_ sessionKey: String, to id: String, now: PoolInstant) {
        guard configuration.affinityTTL > .zero else { return }
        bindings[sessionKey] = Binding(account: id, expiresAt: now + configuration.affinityTTL)
        let limit = max(1, configuration.maxAffinityEntries)
        guard bindings.count > limit else { return }
        bindings = bindings.filter { $0.value.expiresAt > now }
        guard bindings.count > limit else { return }
        // Evict the least recently used tenth at once, so the sort is amortised over many inserts.
        let target = limit - limit / 10
        let oldest = bindings.sorted { $0.value.expiresAt < $1.value.expiresAt }.prefix(bindings.count - target)
        for (key, _) in oldest where key != sessionKey { bindings[key] = nil }
    }

    // MARK: - Outcomes

    /// Ends a checkout: decrements the in-flight count and applies the outcome to the account's health.
    package mutating func record(_ outcome: CheckoutOutcome, account id: String, now: PoolInstant) -> [PoolAction] {
        guard var entry = entries[id] else { return [] }
        entry.inFlight = max(0, entry.inFlight - 1)
        entry.probeInFlight = false
        var actions: [PoolAction] = []
        switch outcome {
        case .cancelled:
            break
        case .success:
            entry.successes += 1
            entry.recentFailures.removeAll()
            entry.consecutiveThrottles = 0
            switch entry.status.health {
            case .cooling, .quotaExhausted:
                entry.coolingForRefresh = false
                actions += transition(&entry, to: .active, reason: nil, now: now)
            default: break
            }
        case .failure(let kind, let message):
            entry.failures += 1
            entry.status.lastError = message
            entry.status.lastErrorAt = now
            switch kind {
            case .throttled(let hint):
                actions += throttle(&entry, hint: hint, message: message, now: now)
            case .quotaExhausted:
                if case .disabled = entry.status.health { break }
                if case .suspended = entry.status.health { break }
                actions += transition(&entry, to: .quotaExhausted(until: now.startOfNextMonthUTC), reason: message, now: now)
            case .suspended:
                if case .disabled = entry.status.health { break }
                actions += transition(&entry, to: .suspended, reason: message, now: now)
            case .other:
                actions += countFailure(&entry, now: now)
            }
        }
        entries[id] = entry
        return actions
    }

    mutating func throttle(_ entry: inout Entry, hint: Duration?, message: String, now: PoolInstant) -> [PoolAction] {
        switch entry.status.health {
        case .active:
            break
        case .cooling(let until) where until > now:
            // Another request that was already in flight: honour its hint, but do not escalate.
            guard let hint, now + hint > until else { return [] }
            entry.status.health = .cooling(until: now + hint)
            return [.persistStatus(id: entry.credentials.id, health: entry.status.health, reason: entry.status.reason)]
        case .cooling, .quotaExhausted:
            break  // a failed probe
        case .suspended, .refreshFailed, .disabled:
            return []
        }
        entry.consecutiveThrottles += 1
        let delay = configuration.throttleBackoff.delay(failure: entry.consecutiveThrottles, jitterUnit: rng.unit(), hint: hint)
        entry.coolingForRefresh = false
        return transition(&entry, to: .cooling(until: now + delay), reason: message, now: now)
    }

    func isUnusableForGood(_ health: AccountHealth) -> Bool {
        switch health {
        case .suspended, .refreshFailed, .disabled: true
        default: false
        }
    }

    mutating func countFailure(_ entry: inout Entry, now: PoolInstant) -> [PoolAction] {
        if isUnusableForGood(entry.status.health) { return [] }
        let windowStart = now - configuration.errorWindow
        entry.recentFailures.removeAll { $0 <= windowStart }
        entry.recentFailures.append(now)
        let limit = max(1, configuration.maxErrors)
        if entry.recentFailures.count > limit { entry.recentFailures.removeFirst(entry.recentFailures.count - limit) }
        guard entry.recentFailures.count >= limit else { return [] }
        entry.recentFailures.removeAll()
        let reason = "\(limit) failures within \(Self.format(configuration.errorWindow))"
        return transition(&entry, to: .disabled(.errors), reason: reason, now: now)
    }

    func transition(_ entry: inout Entry, to health: AccountHealth, reason: String?, now: PoolInstant) -> [PoolAction] {
        let previous = entry.status.health
        if previous == health && entry.status.reason == reason { return [] }
        entry.status.health = health
        entry.status.reason = reason
        entry.status.since = now
        let id = entry.credentials.id
        let level: Logger.Level = health == .active ? .info : .warning
        var message = "account \(previous.name) -> \(health.name)"
        if let until = health.until { message += " until \(until)" }
        if let reason { message += ": \(reason)" }
        return [.persistStatus(id: id, health: health, reason: reason), .log(level: level, message: message, account: id)]
    }
}
