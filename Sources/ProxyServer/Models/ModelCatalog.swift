import Synchronization

/// The models the accounts reported (`ListAvailableModels`), kept per account so that a removed
/// account's models go with it. Lives in the runtime, across reloads.
package final class ModelCatalog: Sendable {
    private struct Lists {
        var byAccount: [String: [String]] = [:]
        /// The union, kept sorted as the lists change: every request reads it to resolve its model.
        var union: [String] = []

        mutating func changed() { union = Set(byAccount.values.joined()).sorted() }
    }

    private let lists = Mutex(Lists())

    package init() {}

    /// Every model some account reported, each once, in a stable order.
    package var discovered: [String] { lists.withLock { $0.union } }

    package func update(account: String, models: [String]) {
        lists.withLock {
            guard $0.byAccount[account] != models else { return }
            $0.byAccount[account] = models
            $0.changed()
        }
    }

    /// Forgets the accounts that are no longer in the pool.
    package func keep(accounts: Set<String>) {
        lists.withLock {
            guard $0.byAccount.keys.contains(where: { !accounts.contains($0) }) else { return }
            $0.byAccount = $0.byAccount.filter { accounts.contains($0.key) }
            $0.changed()
        }
    }

    /// The accounts that reported their models and do not have `model` among them.
    package func accountsLacking(_ model: String) -> Set<String> {
        let wanted = model.lowercased()
        return lists.withLock { lists in
            Set(lists.byAccount.filter { _, models in !models.contains { $0.lowercased() == wanted } }.keys)
        }
    }

    package func models(of account: String) -> [String]? {
        lists.withLock { $0.byAccount[account] }
    }
}
