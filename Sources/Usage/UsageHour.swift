/// UTC hours as the usage files write them: `2026-12-07T16:00:00Z`, always on the hour.
///
/// A fixed format written and read by hand (days from the civil date, as in Howard Hinnant's `days_from_civil`),
/// so that a line is either exactly this shape or refused: a torn or edited timestamp never lands in another hour.
package enum UsageHour {
    package static let secondsPerHour: Int64 = 3600
    package static let secondsPerDay: Int64 = 86_400

    /// The start of the hour holding `seconds` (Unix time).
    package static func start(of seconds: Int64) -> Int64 {
        floorDivide(seconds, secondsPerHour) * secondsPerHour
    }

    /// The start of the UTC day holding `seconds` (Unix time).
    package static func dayStart(of seconds: Int64) -> Int64 {
        floorDivide(seconds, secondsPerDay) * secondsPerDay
    }

    /// `2026-12-07T16:00:00Z` for the hour starting at `hour` (Unix seconds; minutes and seconds are dropped).
    package static func format(_ hour: Int64) -> String {
        let start = start(of: hour)
        let days = floorDivide(start, secondsPerDay)
        let hourOfDay = (start - days * secondsPerDay) / secondsPerHour
        let (year, month, day) = civil(fromDays: days)
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(hourOfDay, 2)):00:00Z"
    }

    /// The Unix seconds of a `YYYY-MM-DDTHH:00:00Z` hour, or `nil` for anything else (another shape, minutes or
    /// seconds that are not zero, an impossible date).
    package static func parse(_ text: String) -> Int64? {
        let bytes = Array(text.utf8)
        guard bytes.count == 20, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"), bytes[10] == UInt8(ascii: "T"),
            bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"), bytes[19] == UInt8(ascii: "Z"),
            let year = number(bytes[0..<4]), let month = number(bytes[5..<7]), let day = number(bytes[8..<10]),
            let hour = number(bytes[11..<13]), number(bytes[14..<16]) == 0, number(bytes[17..<19]) == 0,
            (1...12).contains(month), (1...31).contains(day), (0...23).contains(hour)
        else { return nil }
        let days = days(fromYear: year, month: month, day: day)
        // 31 February and the like come back as another date: refuse them.
        guard civil(fromDays: days) == (year, month, day) else { return nil }
        return days * secondsPerDay + hour * secondsPerHour
    }

    // MARK: - Calendar arithmetic

    static func floorDivide(_ value: Int64, _ divisor: Int64) -> Int64 {
        value >= 0 ? value / divisor : -((-value + divisor - 1) / divisor)
    }

    static func days(fromYear year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = floorDivide(y, 400)
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func civil(fromDays days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = floorDivide(z, 146_097)
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    private static func number(_ digits: ArraySlice<UInt8>) -> Int64? {
        var value: Int64 = 0
        for byte in digits {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int64(byte - UInt8(ascii: "0"))
        }
        return value
    }

    private static func pad(_ value: Int64, _ width: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, width - text.count)) + text
    }
}
