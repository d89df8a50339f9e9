/// A key's counters at one moment (`GET /v2/usage`'s `current`).
package struct KeyUsageNow: Sendable, Equatable {
    package var requestsLastMinute = 0
    package var streams = 0
    package var tokensToday = 0

    package init(requestsLastMinute: Int = 0, streams: Int = 0, tokensToday: Int = 0) {
        self.requestsLastMinute = requestsLastMinute
        self.streams = streams
        self.tokensToday = tokensToday
    }
}
