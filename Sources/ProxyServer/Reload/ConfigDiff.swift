import ProxyConfig

/// A one-line, secret-free summary of what a reload changes, for the log and `POST /v2/reload`:
/// `+2 accounts, -1 api key, listener 127.0.0.1:8081 added`.
package struct ConfigDiff: Sendable, Equatable, CustomStringConvertible {
    package var addedListeners: [String] = []
    package var removedListeners: [String] = []
    package var addedAccounts: [String] = []
    package var removedAccounts: [String] = []
    package var changedAccounts: [String] = []
    /// API keys by name (never by value): a key whose value, models, limits or state changed is "changed".
    package var addedAPIKeys: [String] = []
    package var removedAPIKeys: [String] = []
    package var changedAPIKeys: [String] = []
    package var otherSections: [String] = []

    package init(from old: ProxyConfig, to new: ProxyConfig, templateChanged: Bool = false) {
        let oldListeners = Set(old.listeners.map { $0.address.description })
        let newListeners = Set(new.listeners.map { $0.address.description })
        addedListeners = new.listeners.map { $0.address.description }.filter { !oldListeners.contains($0) }
        removedListeners = old.listeners.map { $0.address.description }.filter { !newListeners.contains($0) }

        let oldAccounts = Dictionary(old.accounts.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        let newAccounts = Dictionary(new.accounts.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        addedAccounts = new.accounts.map(\.id).filter { oldAccounts[$0] == nil }
        removedAccounts = old.accounts.map(\.id).filter { newAccounts[$0] == nil }
        changedAccounts = new.accounts.compactMap { account in
            guard let previous = oldAccounts[account.id], previous != account else { return nil }
            return account.id
        }

        let oldKeys = Dictionary(old.apiKeys.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let newKeys = Dictionary(new.apiKeys.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        addedAPIKeys = new.apiKeys.map(\.name).filter { oldKeys[$0] == nil }
        removedAPIKeys = old.apiKeys.map(\.name).filter { newKeys[$0] == nil }
        changedAPIKeys = new.apiKeys.compactMap { key in
            guard let previous = oldKeys[key.name], previous != key else { return nil }
            return key.name
        }
        if old.adminKeys != new.adminKeys || old.adminOpenOnLoopback != new.adminOpenOnLoopback { otherSections.append("admin keys") }
        if old.metricsKeys != new.metricsKeys { otherSections.append("metrics keys") }
        if old.upstream != new.upstream || templateChanged { otherSections.append("upstream") }
        if old.models != new.models { otherSections.append("models") }
        if old.balancing != new.balancing { otherSections.append("balancing") }
        if old.refresh != new.refresh { otherSections.append("refresh") }
        if old.limits != new.limits { otherSections.append("limits") }
        if old.log != new.log { otherSections.append("log") }
        if old.shard != new.shard { otherSections.append("shard") }
        if old.reload != new.reload { otherSections.append("reload") }
        if old.console != new.console { otherSections.append("console") }
        if old.stateDirectory != new.stateDirectory { otherSections.append("state_dir (applies on restart)") }
        if Set(old.listeners) != Set(new.listeners), addedListeners.isEmpty, removedListeners.isEmpty {
            otherSections.append("listener options")
        }
    }

    package var isEmpty: Bool { description == "no changes" }

    package var description: String {
        var parts: [String] = []
        if !addedAccounts.isEmpty {
            parts.append("+\(addedAccounts.count) account\(addedAccounts.count == 1 ? "" : "s") (\(addedAccounts.joined(separator: ", ")))")
        }
        if !removedAccounts.isEmpty {
            parts.append("-\(removedAccounts.count) account\(removedAccounts.count == 1 ? "" : "s") (\(removedAccounts.joined(separator: ", ")))")
        }
        if !changedAccounts.isEmpty {
            parts.append("account\(changedAccounts.count == 1 ? "" : "s") \(changedAccounts.joined(separator: ", ")) changed")
        }
        if !addedAPIKeys.isEmpty {
            parts.append("+\(addedAPIKeys.count) api key\(addedAPIKeys.count == 1 ? "" : "s") (\(addedAPIKeys.joined(separator: ", ")))")
        }
        if !removedAPIKeys.isEmpty {
            parts.append("-\(removedAPIKeys.count) api key\(removedAPIKeys.count == 1 ? "" : "s") (\(removedAPIKeys.joined(separator: ", ")))")
        }
        if !changedAPIKeys.isEmpty {
            parts.append("api key\(changedAPIKeys.count == 1 ? "" : "s") \(changedAPIKeys.joined(separator: ", ")) changed")
        }
        for listener in addedListeners { parts.append("listener \(listener) added") }
        for listener in removedListeners { parts.append("listener \(listener) removed") }
        for section in otherSections { parts.append("\(section) changed") }
        return parts.isEmpty ? "no changes" : parts.joined(separator: ", ")
    }
}
