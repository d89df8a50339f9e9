import Accounts
import ArgumentParser
import Foundation
import ProxyConfig
import ProxyModels

/// Lists the accounts from the config and the state directory, without a running server. Never prints a secret.
///
/// ```
/// $ q2api accounts
/// ID     LABEL          SOURCE  STATE     REASON             OK    FAIL  TOKEN EXPIRES
/// main   Main account   yaml    active                       1204  3     2025-06-15T16:06:40.250Z
/// spare  spare          yaml    disabled  disabled in the…   0     0     none
/// ```
struct AccountsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "accounts",
        abstract: "List the accounts (config and state directory) with their state, counters and token expiry.")

    @OptionGroup var options: ConfigOptions

    @Flag(help: "Print a JSON array instead of a table.")
    var json = false

    func run() throws {
        let config: ProxyConfig
        do {
            config = try ProxyConfig.load(path: options.config)
        } catch {
            ConfigLoading.printErrors(error)
            throw ExitCode(1)
        }
        let snapshots = AccountStateStore.load(directory: config.stateDirectory)
        let (accounts, warnings) = AccountListing.merge(
            accounts: config.accounts, snapshots: snapshots, stateDirectory: config.stateDirectory)
        for warning in warnings {
            FileHandle.standardError.write(Data(("warning: " + warning + "\n").utf8))
        }
        // With several shards, say which instance owns each account (the one whose shard.index matches).
        let explicit = Dictionary(config.accounts.map { ($0.id, $0.shard) }, uniquingKeysWith: { first, _ in first })
        let shards: [String: Int]? =
            config.shard.count > 1
            ? Dictionary(accounts.map { ($0.id, config.shard.shard(of: $0.id, explicit: explicit[$0.id] ?? nil)) }, uniquingKeysWith: { a, _ in a })
            : nil
        print(json ? Self.json(accounts, shards: shards) : Self.table(accounts, now: Date(), shards: shards, own: config.shard.index))
    }

    static func json(_ accounts: [AccountListing], shards: [String: Int]? = nil) -> String {
        JSONValue.array(
            accounts.map { account in
                JSONValue.object([
                    "shard": shards?[account.id].map(JSONValue.int),
                    "id": .string(account.id),
                    "label": .string(account.label),
                    "source": .string(account.source.rawValue),
                    "state": .string(account.state),
                    "reason": account.reason.map(JSONValue.string) ?? .null,
                    "successes": .int(account.counters.successes),
                    "failures": .int(account.counters.failures),
                    "input_tokens": .int(account.counters.inputTokens),
                    "output_tokens": .int(account.counters.outputTokens),
                    "token_expires_at": account.tokenExpiresAt.map { .string(AccountListing.format($0)) } ?? .null,
                ])
            }
        ).prettyString
    }

    static func table(_ accounts: [AccountListing], now: Date, shards: [String: Int]? = nil, own: Int = 0) -> String {
        guard !accounts.isEmpty else { return "no accounts" }
        var header = ["ID", "LABEL", "SOURCE", "STATE", "REASON", "OK", "FAIL", "TOKEN EXPIRES"]
        if shards != nil { header.insert("SHARD", at: 1) }
        let rows = accounts.map { account -> [String] in
            let expiry = account.tokenExpiresAt.map { date in
                AccountListing.format(date) + (date <= now ? " (expired)" : "")
            }
            var row = [
                account.id, clip(account.label, 30), account.source.rawValue, account.state,
                clip(account.reason ?? "", 40), String(account.counters.successes), String(account.counters.failures),
                expiry ?? "none",
            ]
            if let shard = shards?[account.id] { row.insert(shard == own ? "\(shard) (this)" : String(shard), at: 1) }
            return row
        }
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        return ([header] + rows).map { row in
            row.enumerated().map { column, cell in
                column == row.count - 1 ? cell : cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }

    /// Shortens a cell to `limit` characters (labels and reasons are free text), on one line.
    private static func clip(_ text: String, _ limit: Int) -> String {
        let flat = text.replacingOccurrences(of: "\n", with: " ")
        return flat.count <= limit ? flat : String(flat.prefix(limit - 1)) + "…"
    }
}
