import Foundation

/// The `ts` / `expires_at` format of state records: ISO-8601 in UTC with milliseconds, `2025-06-01T12:00:00.250Z`.
enum StateTimestamp {
    private static let withFraction = Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt)
    private static let withoutFraction = Date.ISO8601FormatStyle(includingFractionalSeconds: false, timeZone: .gmt)

    static func format(_ date: Date) -> String {
        withFraction.format(date)
    }

    /// Parses a timestamp with or without fractional seconds (files may be written by other tools).
    static func parse(_ text: String) -> Date? {
        if let date = try? withFraction.parse(text) { return date }
        return try? withoutFraction.parse(text)
    }
}
