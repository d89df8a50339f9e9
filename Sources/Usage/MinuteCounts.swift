/// Requests per minute over the last hour, per account, in memory only: the console's sparklines. Sixty slots per
/// name, each remembering which minute it holds, so a name that goes quiet reads as zeros without any sweeping.
struct MinuteCounts: Sendable {
    private struct Ring: Sendable {
        var minutes = [Int64](repeating: -1, count: 60)
        var counts = [Int](repeating: 0, count: 60)

        mutating func add(slot: Int, minute: Int64) {
            if minutes[slot] != minute {
                minutes[slot] = minute
                counts[slot] = 0
            }
            counts[slot] += 1
        }
    }

    private var rings: [String: Ring] = [:]

    /// Counts one request of `name` in `minute` (Unix minutes).
    mutating func add(_ name: String, minute: Int64) {
        let slot = Int(minute % 60)
        rings[name, default: Ring()].add(slot: slot, minute: minute)
    }

    /// The counts of the 60 minutes ending with `minute` (included), oldest first.
    func lastHour(_ name: String, minute: Int64) -> [Int] {
        guard let ring = rings[name] else { return [Int](repeating: 0, count: 60) }
        return (0..<60).map { offset in
            let wanted = minute - 59 + Int64(offset)
            let slot = Int(((wanted % 60) + 60) % 60)
            return ring.minutes[slot] == wanted ? ring.counts[slot] : 0
        }
    }
}
