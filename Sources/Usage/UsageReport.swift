/// How usage is grouped into series: by API key, by account or by model.
package enum UsageGrouping: String, Sendable, CaseIterable {
    case key, account, model

    /// The name a record counts under.
    package func name(of record: UsageRecord) -> String {
        switch self {
        case .key: record.key
        case .account: record.account
        case .model: record.model
        }
    }
}

/// The time ranges of `/v2/usage`: 24 hourly buckets, 168 hourly buckets, or 30 daily buckets, UTC-aligned, the
/// last bucket being the current one.
package enum UsageRange: String, Sendable, CaseIterable {
    case day = "24h"
    case week = "7d"
    case month = "30d"

    package var bucketSeconds: Int64 {
        self == .month ? UsageHour.secondsPerDay : UsageHour.secondsPerHour
    }

    package var bucketCount: Int {
        switch self {
        case .day: 24
        case .week: 168
        case .month: 30
        }
    }

    /// The start of the first bucket for a range ending now (`now` in Unix seconds).
    package func firstBucket(now: Int64) -> Int64 {
        let current = self == .month ? UsageHour.dayStart(of: now) : UsageHour.start(of: now)
        return current - Int64(bucketCount - 1) * bucketSeconds
    }
}

/// Usage over consecutive buckets, one series per group, and the totals.
package struct UsageReport: Sendable, Equatable {
    /// One group's counts, one entry per bucket.
    package struct Series: Sendable, Equatable {
        package var name: String
        package var counts: [UsageCounts]
        package var total: UsageCounts { counts.reduce(.zero, +) }
    }

    /// The Unix seconds of each bucket's start, oldest first.
    package var buckets: [Int64]
    package var bucketSeconds: Int64
    /// Sorted by name.
    package var series: [Series]
    package var totals: UsageCounts

    /// Adds up `records` into `count` buckets of `bucketSeconds` from `firstBucket`; records outside are left out.
    package init(records: some Sequence<UsageRecord>, by grouping: UsageGrouping, firstBucket: Int64, bucketSeconds: Int64, count: Int) {
        self.bucketSeconds = bucketSeconds
        self.buckets = (0..<count).map { firstBucket + Int64($0) * bucketSeconds }
        var byName: [String: [UsageCounts]] = [:]
        var totals = UsageCounts.zero
        for record in records where record.hour >= firstBucket {
            let index = Int((record.hour - firstBucket) / bucketSeconds)
            guard index < count else { continue }
            byName[grouping.name(of: record), default: [UsageCounts](repeating: .zero, count: count)][index] += record.counts
            totals += record.counts
        }
        self.series = byName.keys.sorted().map { Series(name: $0, counts: byName[$0]!) }
        self.totals = totals
    }

    /// The report for one of `/v2/usage`'s ranges ending at `now` (Unix seconds).
    package init(records: some Sequence<UsageRecord>, by grouping: UsageGrouping, range: UsageRange, now: Int64) {
        self.init(
            records: records, by: grouping, firstBucket: range.firstBucket(now: now), bucketSeconds: range.bucketSeconds,
            count: range.bucketCount)
    }
}

/// Totals per group since a time, for `q2api usage`.
package struct UsageSummary: Sendable, Equatable {
    package struct Row: Sendable, Equatable {
        package var name: String
        package var counts: UsageCounts
    }

    /// Sorted by name.
    package var rows: [Row]
    package var totals: UsageCounts

    /// Adds up the records of the hours from the one holding `since` (Unix seconds) on.
    package init(records: some Sequence<UsageRecord>, by grouping: UsageGrouping, since: Int64) {
        let first = UsageHour.start(of: since)
        var byName: [String: UsageCounts] = [:]
        for record in records where record.hour >= first { byName[grouping.name(of: record), default: .zero] += record.counts }
        rows = byName.keys.sorted().map { Row(name: $0, counts: byName[$0]!) }
        totals = rows.reduce(.zero) { $0 + $1.counts }
    }
}

/// A duration written as `90m`, `24h`, `7d` or `2w` (for `--since`).
package enum UsageDuration {
    /// The seconds `text` stands for, or `nil` when it is not a positive number followed by `m`, `h`, `d` or `w`.
    package static func seconds(_ text: String) -> Int64? {
        guard let unit = text.last, let number = Int64(text.dropLast()), number > 0, number < 100_000 else { return nil }
        switch unit {
        case "m": return number * 60
        case "h": return number * 3600
        case "d": return number * 86_400
        case "w": return number * 7 * 86_400
        default: return nil
        }
    }
}
