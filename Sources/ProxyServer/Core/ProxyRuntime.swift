import Accounts
import Logging
import Synchronization
import Upstream

/// The long-lived parts every request shares: the settings snapshot, the account pool and the
/// upstream clients.
package final class ProxyRuntime: Sendable {
    private let current: Mutex<ServerSettings>
    package let pool: AccountPool
    package let qClient: AmazonQClient
    package let logger: Logger

    package init(settings: ServerSettings, pool: AccountPool, qClient: AmazonQClient, logger: Logger) {
        self.current = Mutex(settings)
        self.pool = pool
        self.qClient = qClient
        self.logger = logger
    }

    /// The settings in force now; a request reads this once and keeps its copy.
    package var settings: ServerSettings { current.withLock { $0 } }

    package func replaceSettings(_ settings: ServerSettings) {
        current.withLock { $0 = settings }
    }
}
