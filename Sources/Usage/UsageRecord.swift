import ProxyConfig
import ProxyModels

/// One line of a usage file: the counts of one key, one account and one model in one UTC hour.
///
/// ```json
/// {"hour":"2026-12-07T16:00:00Z","key":"alice","account":"main","model":"claude-sonnet-4.5","requests":3,"failures":0,"throttled":0,"input_tokens":1200,"output_tokens":340}
/// ```
///
/// A file holds deltas: the same (hour, account, model) may appear on several lines (one per flush), and readers
/// add them up; compaction merges them into one line.
package struct UsageRecord: Sendable, Hashable {
    /// The start of the UTC hour, in Unix seconds (a multiple of 3600).
    package var hour: Int64
    /// The API key's name (`api_keys[].name`, `anonymous` or `admin`); never the key itself.
    package var key: String
    /// The account that served the request; `""` when none was used (a throttled or refused request).
    package var account: String
    /// The model, capped to configured names (or `other`) as the metrics are, so files stay small.
    package var model: String
    package var counts: UsageCounts

    package init(hour: Int64, key: String, account: String, model: String, counts: UsageCounts) {
        self.hour = hour
        self.key = key
        self.account = account
        self.model = model
        self.counts = counts
    }

    /// What a record is added up under.
    package var bucket: UsageBucket { UsageBucket(hour: hour, key: key, account: account, model: model) }

    /// The record as one line of JSON, without the trailing newline; members in a fixed order so files read well.
    /// Counts above ``UsageCounts/maximumCount`` are written as that maximum, so the line stays readable.
    package func jsonLine() -> [UInt8] {
        func count(_ value: Int) -> JSONValue { .int(min(value, UsageCounts.maximumCount)) }
        let value = JSONValue.object([
            JSONMember("hour", .string(UsageHour.format(hour))), JSONMember("key", .string(key)),
            JSONMember("account", .string(account)), JSONMember("model", .string(model)),
            JSONMember("requests", count(counts.requests)), JSONMember("failures", count(counts.failures)),
            JSONMember("throttled", count(counts.throttled)), JSONMember("input_tokens", count(counts.inputTokens)),
            JSONMember("output_tokens", count(counts.outputTokens)),
        ])
        var bytes: [UInt8] = []
        JSONWriter.write(value, into: &bytes)
        return bytes
    }

    /// Reads one line (without its newline).
    ///
    /// - Throws: ``UsageRecordDecodingError`` when the line is not a whole record: not JSON (a torn line), a
    ///   member missing or of the wrong type, an hour not on the hour, a negative count or one above
    ///   ``UsageCounts/maximumCount``. Never quotes the line.
    package static func decode(line: some Collection<UInt8>) throws(UsageRecordDecodingError) -> UsageRecord {
        let object: JSONValue
        do {
            object = try JSONParser.parse(Array(line))
        } catch {
            throw UsageRecordDecodingError(description: "not a JSON object")
        }
        guard case .object = object else { throw UsageRecordDecodingError(description: "not a JSON object") }
        func string(_ name: String) throws(UsageRecordDecodingError) -> String {
            guard let value = object[name]?.stringValue else {
                throw UsageRecordDecodingError(description: "no string \"\(name)\"")
            }
            return value
        }
        func count(_ name: String) throws(UsageRecordDecodingError) -> Int {
            guard let value = object[name]?.intValue, value >= 0 else {
                throw UsageRecordDecodingError(description: "no non-negative integer \"\(name)\"")
            }
            // An edited or corrupted count (9223372036854775807) would otherwise overflow the sums.
            guard value <= UsageCounts.maximumCount else {
                throw UsageRecordDecodingError(description: "\"\(name)\" count out of range (more than 2^50)")
            }
            return value
        }
        guard let hour = UsageHour.parse(try string("hour")) else {
            throw UsageRecordDecodingError(description: "\"hour\" is not a UTC hour like 2026-12-07T16:00:00Z")
        }
        let key = try string("key")
        guard ProxyConfig.Account.isValidID(key) else { throw UsageRecordDecodingError(description: "\"key\" is not a valid key name") }
        return UsageRecord(
            hour: hour, key: key, account: try string("account"), model: try string("model"),
            counts: UsageCounts(
                requests: try count("requests"), failures: try count("failures"), throttled: try count("throttled"),
                inputTokens: try count("input_tokens"), outputTokens: try count("output_tokens")))
    }
}

/// The identity records are added up under: (hour, key, account, model).
package struct UsageBucket: Sendable, Hashable, Comparable {
    package var hour: Int64
    package var key: String
    package var account: String
    package var model: String

    package init(hour: Int64, key: String, account: String, model: String) {
        self.hour = hour
        self.key = key
        self.account = account
        self.model = model
    }

    package static func < (left: UsageBucket, right: UsageBucket) -> Bool {
        (left.hour, left.key, left.account, left.model) < (right.hour, right.key, right.account, right.model)
    }
}

/// Why a line of a usage file could not be read. The description names the problem, never a value.
package struct UsageRecordDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    package var description: String
}

extension Sequence<UsageRecord> {
    /// The records added up per (hour, key, account, model), in that order.
    package func merged() -> [UsageRecord] {
        var totals: [UsageBucket: UsageCounts] = [:]
        for record in self { totals[record.bucket, default: .zero] += record.counts }
        return totals.keys.sorted().map { bucket in
            UsageRecord(hour: bucket.hour, key: bucket.key, account: bucket.account, model: bucket.model, counts: totals[bucket]!)
        }
    }
}
