import Foundation

/// The `ts` / `expires_at` format of state records: ISO-8601 in UTC with milliseconds, `2025-06-01T12:00:00.250Z`.
package enum StateTimestamp {
    private static let withFraction = Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt)
    private static let withoutFraction = Date.ISO8601FormatStyle(includingFractionalSeconds: false, timeZone: .gmt)

    /// Milliseconds, rounded: the formatter truncates, and a parsed `.359` is a binary fraction a hair below it,
    /// so formatting what was parsed would print `.358`.
    package static func format(_ date: Date) -> String {
        let milliseconds = (date.timeIntervalSince1970 * 1000).rounded()
        let seconds = (milliseconds / 1000).rounded(.down)
        let base = withoutFraction.format(Date(timeIntervalSince1970: seconds))
        let fraction = Int(milliseconds - seconds * 1000)
        return base.dropLast() + "." + String(String(fraction + 1000).dropFirst()) + "Z"
    }

    /// Parses a timestamp with or without fractional seconds (files may be written by other tools).
    package static func parse(_ text: String) -> Date? {
        if let date = try? withFraction.parse(text) { return date }
        return try? withoutFraction.parse(text)
    }
}
