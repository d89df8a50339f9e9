import Synchronization

/// The models the accounts reported (`ListAvailableModels`), kept per account so that a removed
/// account's models go with it. Lives in the runtime, across reloads.
package final class ModelCatalog: Sendable {
    private let byAccount = Mutex<[String: [String]]>([:])

    package init() {}

    /// Every model some account reported, each once, in a stable order.
    package var discovered: [String] {
        byAccount.withLock { Set($0.values.joined()) }.sorted()
    }

    package func update(account: String, models: [String]) {
        byAccount.withLock { $0[account] = models }
    }

    /// Forgets the accounts that are no longer in the pool.
    package func keep(accounts: Set<String>) {
        byAccount.withLock { $0 = $0.filter { accounts.contains($0.key) } }
    }

    /// The accounts that reported their models and do not have `model` among them.
    package func accountsLacking(_ model: String) -> Set<String> {
        let wanted = model.lowercased()
        return byAccount.withLock { lists in
            Set(lists.filter { _, models in !models.contains { $0.lowercased() == wanted } }.keys)
        }
    }

    package func models(of account: String) -> [String]? {
        byAccount.withLock { $0[account] }
    }
}
