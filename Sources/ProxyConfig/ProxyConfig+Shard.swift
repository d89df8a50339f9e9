extension ProxyConfig {
    /// `shard`: which accounts this instance owns when several instances share one `q2api.yaml`.
    ///
    /// Each account belongs to exactly one shard: its `accounts[].shard` when given, else a stable hash of its id
    /// (FNV-1a, the same on every machine and every run) modulo ``count``. An instance loads, serves and refreshes
    /// only the accounts of its ``index``, so every account's tokens are refreshed by one process.
    package struct Shard: Sendable, Equatable {
        /// `index`: this instance's shard, `0 ..< count` (for example `${Q2API_SHARD_INDEX}`, a StatefulSet ordinal).
        package var index: Int
        /// `count`: how many shards there are; `1` (the default) owns everything.
        package var count: Int

        package init(index: Int = 0, count: Int = 1) {
            self.index = index
            self.count = count
        }

        /// The shard an account belongs to.
        package func shard(of accountID: String, explicit: Int? = nil) -> Int {
            if let explicit { return explicit }
            guard count > 1 else { return 0 }
            return Int(Self.stableHash(accountID) % UInt64(count))
        }

        /// Whether this instance owns the account.
        package func owns(_ accountID: String, explicit: Int? = nil) -> Bool {
            count <= 1 && explicit == nil ? true : shard(of: accountID, explicit: explicit) == index
        }

        /// 64-bit FNV-1a of the id's UTF-8 bytes: stable across processes, unlike `Hasher`.
        package static func stableHash(_ text: String) -> UInt64 {
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            for byte in text.utf8 {
                hash ^= UInt64(byte)
                hash = hash &* 0x0000_0100_0000_01b3
            }
            return hash
        }
    }

    /// The accounts of the YAML this instance owns.
    package var ownedAccounts: [Account] {
        accounts.filter { shard.owns($0.id, explicit: $0.shard) }
    }
}
