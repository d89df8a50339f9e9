import ProxyModels
import Synchronization
import Translation

/// Kept replies in memory only: for runtimes built without a state directory (tests, `q2api bench` targets).
package final class MemoryReplyArchive: ReplyArchive {
    private let records = Mutex<[String: JSONValue]>([:])

    package init() {}

    package func record(_ id: String) async -> JSONValue? { records.withLock { $0[id] } }
    package func keep(_ id: String, _ record: JSONValue) async { records.withLock { $0[id] = record } }
    package func forget(_ id: String) async -> Bool { records.withLock { $0.removeValue(forKey: id) != nil } }
}
