import ProxyConfig
import Testing

@Suite("Sharding: which instance owns which account")
struct ShardTests {
    @Test("shard.index and shard.count are read; an index outside the count is an error at its line")
    func parsing() throws {
        let config = try load("shard: {index: 2, count: 3}")
        #expect(config.shard == ProxyConfig.Shard(index: 2, count: 3))
        #expect(try load("version: 1").shard == ProxyConfig.Shard(index: 0, count: 1))
        let error = try loadError("shard: {index: 3, count: 3}")
        #expect(error.keyPath == "shard.index")
        #expect(error.message.contains("less than shard.count"))
        let explicit = try loadError("shard: {count: 2}\naccounts: [{id: a, client_id: c, client_secret: s, refresh_token: r, shard: 2}]")
        #expect(explicit.keyPath == "accounts[0].shard")
    }

    @Test("every account is owned by exactly one of the instances sharing a file, the same on every run")
    func partition() throws {
        let ids = (0..<300).map { "account-\($0)" }
        for count in [2, 3, 5] {
            let shards = (0..<count).map { ProxyConfig.Shard(index: $0, count: count) }
            var owned = Array(repeating: 0, count: count)
            for id in ids {
                let owners = shards.filter { $0.owns(id) }
                #expect(owners.count == 1, "\(id) with \(count) shards")
                owned[owners[0].index] += 1
            }
            // Spread evenly enough: no shard gets less than half its fair share.
            #expect(owned.allSatisfy { $0 > ids.count / count / 2 }, "\(owned)")
        }
        // FNV-1a is fixed: this value must never change, or a rolling upgrade would move accounts between shards.
        #expect(ProxyConfig.Shard.stableHash("main") == 0x1f59_62a2_ce98_03c8)
    }

    @Test("an explicit accounts[].shard overrides the hash; ownedAccounts keeps only this instance's")
    func explicitShard() throws {
        let yaml = """
            shard: {index: 1, count: 2}
            accounts:
              - {id: a, client_id: c, client_secret: s, refresh_token: r, shard: 1}
              - {id: b, client_id: c, client_secret: s, refresh_token: r, shard: 0}
            """
        let config = try load(yaml)
        #expect(config.ownedAccounts.map(\.id) == ["a"])
    }
}
