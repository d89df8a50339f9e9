import Accounts
import Foundation
import Hummingbird
import ProxyConfig
import ProxyModels
import Usage

/// `GET /v2/usage?range=24h|7d|30d&by=key|account|model`: usage over time from the usage files (every shard's) and
/// the counts not flushed yet, each key against its limits, and each account's requests per minute of the last hour.
///
/// ```json
/// {"range":"24h","by":"key","bucket_seconds":3600,"buckets":[1765065600, ...],
///  "series":[{"name":"alice","requests":[...],"failures":[...],"throttled":[...],"input_tokens":[...],"output_tokens":[...]}],
///  "totals":{"requests":12,"failures":1,"throttled":2,"input_tokens":4000,"output_tokens":900},
///  "keys":[{"name":"alice","enabled":true,"models":null,"limits":{"requests_per_minute":60,"concurrent_streams":null,"tokens_per_day":null},
///           "current":{"requests_last_minute":3,"streams":1,"tokens_today":4900}}],
///  "accounts":[{"id":"a1","label":"A1","state":"active","in_flight":1,"last_hour":[0, ..., 3]}]}
/// ```
struct UsageAdminController: Sendable {
    let runtime: ProxyRuntime

    func addRoutes(to group: RouterGroup<ProxyRequestContext>) {
        group.get("usage", use: usage)
    }

    @Sendable func usage(_ request: Request, context: ProxyRequestContext) async throws -> Response {
        let rangeText = request.uri.queryParameters.get("range") ?? UsageRange.day.rawValue
        guard let range = UsageRange(rawValue: rangeText) else {
            throw AdminError.invalid("range must be one of \(UsageRange.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let byText = request.uri.queryParameters.get("by") ?? UsageGrouping.key.rawValue
        guard let grouping = UsageGrouping(rawValue: byText) else {
            throw AdminError.invalid("by must be one of \(UsageGrouping.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let records = runtime.usage.records()
        let now = Date()
        let report = UsageReport(records: records, by: grouping, range: range, now: Int64(now.timeIntervalSince1970.rounded(.down)))
        let tokensToday = UsageLedger.tokensToday(records, now: now)
        return AdminJSON.response(
            .object([
                JSONMember("range", .string(range.rawValue)), JSONMember("by", .string(grouping.rawValue)),
                JSONMember("bucket_seconds", .number(String(report.bucketSeconds))),
                JSONMember("buckets", .array(report.buckets.map { .number(String($0)) })),
                JSONMember("series", .array(report.series.map(Self.seriesJSON))),
                JSONMember("totals", Self.countsJSON(report.totals)),
                JSONMember("keys", .array(runtime.settings.apiKeys.map { keyJSON($0, tokensToday: tokensToday[$0.name] ?? 0) })),
                JSONMember("accounts", .array(runtime.pool.snapshot().map(accountJSON))),
            ]))
    }

    static func seriesJSON(_ series: UsageReport.Series) -> JSONValue {
        func column(_ value: (UsageCounts) -> Int) -> JSONValue { .array(series.counts.map { .int(value($0)) }) }
        return .object([
            JSONMember("name", .string(series.name)), JSONMember("requests", column(\.requests)),
            JSONMember("failures", column(\.failures)), JSONMember("throttled", column(\.throttled)),
            JSONMember("input_tokens", column(\.inputTokens)), JSONMember("output_tokens", column(\.outputTokens)),
        ])
    }

    static func countsJSON(_ counts: UsageCounts) -> JSONValue {
        .object([
            JSONMember("requests", .int(counts.requests)), JSONMember("failures", .int(counts.failures)),
            JSONMember("throttled", .int(counts.throttled)), JSONMember("input_tokens", .int(counts.inputTokens)),
            JSONMember("output_tokens", .int(counts.outputTokens)),
        ])
    }

    /// A key's settings (never its value) and what it uses now: the limiter's counts (it counts every named key,
    /// limits or not), with tokens today at least what the usage files and unflushed counts hold.
    func keyJSON(_ key: ProxyConfig.APIKey, tokensToday: Int) -> JSONValue {
        let current = runtime.keyLimiter.current(key: key.name)
        func limit(_ value: Int?) -> JSONValue { value.map(JSONValue.int) ?? .null }
        return .object([
            JSONMember("name", .string(key.name)), JSONMember("enabled", .bool(key.enabled)),
            JSONMember("models", key.models.map { .array($0.map(JSONValue.string)) } ?? .null),
            JSONMember(
                "limits",
                .object([
                    JSONMember("requests_per_minute", limit(key.limits.requestsPerMinute)),
                    JSONMember("concurrent_streams", limit(key.limits.concurrentStreams)),
                    JSONMember("tokens_per_day", limit(key.limits.tokensPerDay)),
                ])),
            JSONMember(
                "current",
                .object([
                    JSONMember("requests_last_minute", .int(current.requestsLastMinute)),
                    JSONMember("streams", .int(current.streams)),
                    JSONMember("tokens_today", .int(max(current.tokensToday, tokensToday))),
                ])),
        ])
    }

    func accountJSON(_ account: AccountSnapshot) -> JSONValue {
        .object([
            JSONMember("id", .string(account.id)), JSONMember("label", .string(account.label)),
            JSONMember("state", .string(account.health.name)), JSONMember("in_flight", .int(account.inFlight)),
            JSONMember("last_hour", .array(runtime.usage.lastHour(account: account.id).map(JSONValue.int))),
        ])
    }
}
