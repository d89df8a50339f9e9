import ArgumentParser
import Foundation
import ProxyConfig
import ProxyModels
import Usage

/// Prints the usage the server kept in `<state_dir>/usage/` (every shard's folder), per key, account or model,
/// without a running server. Counts not flushed yet by a running server (at most the last flush interval) are not
/// in the files.
///
/// ```
/// $ q2api usage --since 7d --by key
/// KEY        REQUESTS  FAILURES  THROTTLED  INPUT TOKENS  OUTPUT TOKENS
/// alice           120         2          0        481200          90310
/// intern           31         0          5         12040           3120
/// TOTAL           151         2          5        493240          93430
/// ```
struct UsageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "usage",
        abstract: "Print requests, failures, throttles and tokens per API key, account or model from the state directory.")

    @OptionGroup var options: ConfigOptions

    @Option(name: .customLong("state-dir"), help: "The state directory to read (default: the config's state_dir).")
    var stateDirectory: String?

    @Option(help: "How far back to count: a number followed by m, h, d or w (UTC hours, the current one included).")
    var since = "7d"

    @Option(help: "Group by key, account or model.")
    var by = "key"

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func validate() throws {
        guard UsageDuration.seconds(since) != nil else {
            throw ValidationError("--since must be a number followed by m, h, d or w, like 90m, 24h, 7d or 2w; got '\(since.prefix(40))'")
        }
        guard UsageGrouping(rawValue: by) != nil else {
            throw ValidationError("--by must be key, account or model; got '\(by.prefix(40))'")
        }
    }

    func run() throws {
        let directory: String
        if let stateDirectory {
            directory = stateDirectory
        } else {
            do {
                directory = try ProxyConfig.load(path: options.config).stateDirectory
            } catch {
                ConfigLoading.printErrors(error)
                throw ExitCode(1)
            }
        }
        let parsed = UsageFileParser.load(usageDirectory: UsageLedger.usageDirectory(stateDirectory: directory))
        for warning in parsed.warnings {
            FileHandle.standardError.write(Data(("warning: " + warning + "\n").utf8))
        }
        let grouping = UsageGrouping(rawValue: by) ?? .key
        let since = Int64(Date().timeIntervalSince1970) - (UsageDuration.seconds(self.since) ?? 0)
        let summary = UsageSummary(records: parsed.records, by: grouping, since: since)
        print(json ? Self.json(summary, by: grouping, since: since) : Self.table(summary, by: grouping))
    }

    static func json(_ summary: UsageSummary, by grouping: UsageGrouping, since: Int64) -> String {
        func counts(_ counts: UsageCounts) -> [JSONMember] {
            [
                JSONMember("requests", .int(counts.requests)), JSONMember("failures", .int(counts.failures)),
                JSONMember("throttled", .int(counts.throttled)), JSONMember("input_tokens", .int(counts.inputTokens)),
                JSONMember("output_tokens", .int(counts.outputTokens)),
            ]
        }
        return JSONValue.object([
            JSONMember("since", .string(UsageHour.format(since))), JSONMember("by", .string(grouping.rawValue)),
            JSONMember("rows", .array(summary.rows.map { .object([JSONMember("name", .string($0.name))] + counts($0.counts)) })),
            JSONMember("totals", .object(counts(summary.totals))),
        ]).prettyString
    }

    static func table(_ summary: UsageSummary, by grouping: UsageGrouping) -> String {
        let header = [grouping.rawValue.uppercased(), "REQUESTS", "FAILURES", "THROTTLED", "INPUT TOKENS", "OUTPUT TOKENS"]
        func cells(_ name: String, _ counts: UsageCounts) -> [String] {
            [
                name, String(counts.requests), String(counts.failures), String(counts.throttled), String(counts.inputTokens),
                String(counts.outputTokens),
            ]
        }
        // An empty name is usage without one: a throttled request has no account (the console's "(no account)" too),
        // a refused one may have no model.
        func display(_ name: String) -> String { name.isEmpty ? "(no \(grouping.rawValue))" : name }
        let rows = [header] + summary.rows.map { cells(display($0.name), $0.counts) } + [cells("TOTAL", summary.totals)]
        let widths = header.indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { column, cell in
                let padding = String(repeating: " ", count: widths[column] - cell.count)
                return column == 0 ? cell + padding : padding + cell
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}
