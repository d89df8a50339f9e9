import Accounts
import Testing

@Suite("Backoff and quota reset")
struct BackoffTests {
    @Test(arguments: [(1, 10), (2, 20), (3, 40), (5, 160), (8, 600), (10, 600), (29, 600)])
    func throttleTable(failure: Int, seconds: Int64) {
        #expect(Backoff.throttle.undisturbedDelay(failure: failure) == .seconds(seconds))
        #expect(Backoff.throttle.delay(failure: failure, jitterUnit: 0) == .seconds(seconds))
        let most = Backoff.throttle.delay(failure: failure, jitterUnit: 0.999_999)
        #expect(most > .seconds(seconds) && most < .seconds(Double(seconds) * 1.2))
    }

    @Test(arguments: [(1, 30), (2, 60), (3, 120), (5, 480), (8, 600), (10, 600)])
    func refreshTable(failure: Int, seconds: Int64) {
        #expect(Backoff.refresh.undisturbedDelay(failure: failure) == .seconds(seconds))
    }

    @Test func hintIsAFloor() {
        #expect(Backoff.throttle.delay(failure: 1, jitterUnit: 0, hint: .seconds(45)) == .seconds(45))
        #expect(Backoff.throttle.delay(failure: 3, jitterUnit: 0, hint: .seconds(2)) == .seconds(40))
    }

    static func instant(_ y: Int64, _ m: Int64, _ d: Int64, _ seconds: Int64 = 0) -> PoolInstant {
        PoolInstant(secondsSince1970: PoolInstant.days(fromCivil: y, m, d) * 86_400 + seconds)
    }

    @Test func quotaResetsOnTheFirstOfNextMonthUTC() {
        #expect(Self.instant(2025, 6, 15, 54_400).startOfNextMonthUTC == Self.instant(2025, 7, 1))
        #expect(Self.instant(2025, 12, 31, 86_399).startOfNextMonthUTC == Self.instant(2026, 1, 1))
        #expect(Self.instant(2024, 2, 29, 100).startOfNextMonthUTC == Self.instant(2024, 3, 1))
        #expect(Self.instant(2025, 1, 31).startOfNextMonthUTC == Self.instant(2025, 2, 1))
        // Exactly at a month's start: the next month's.
        #expect(Self.instant(2025, 7, 1).startOfNextMonthUTC == Self.instant(2025, 8, 1))
        // Known epoch values.
        #expect(Self.instant(2025, 7, 1).secondsSince1970 == 1_751_328_000)
        #expect(PoolInstant(secondsSince1970: 1_750_000_000).startOfNextMonthUTC.secondsSince1970 == 1_751_328_000)
        #expect(PoolInstant.civil(fromDays: 0) == (1970, 1, 1))
    }
}
