import Accounts
import Foundation
import ProxyConfig
import Testing

@Suite("State records")
struct StateRecordTests {
    static let ts = Date(timeIntervalSince1970: 1_750_000_000.5)
    static let expiry = Date(timeIntervalSince1970: 1_750_003_600.25)

    static let records: [StateRecord] = [
        .token(
            TokenRecord(
                timestamp: ts, refreshToken: Secret("rt-1"), accessToken: Secret("at-1"), expiresAt: expiry,
                source: "sha256:0011223344556677")),
        .status(StatusRecord(timestamp: ts, state: "disabled", reason: "left \"the\" team\n", by: .operator)),
        .status(StatusRecord(timestamp: ts, state: "enabled", reason: nil, by: .auto)),
        .stats(
            StatsRecord(
                timestamp: ts, counters: StatsCounters(successes: 3, failures: 1, inputTokens: 1200, outputTokens: 345))),
        .account(
            AccountRecord(
                timestamp: ts, label: "Zoë's account", clientID: Secret("cid"), clientSecret: Secret("csec"),
                refreshToken: Secret("seed"), profileARN: "arn:aws:codewhisperer:us-east-1:1:profile/X", enabled: false,
                weight: 3, region: "eu-central-1", endpoint: "https://q.eu-central-1.amazonaws.com/")),
        .account(
            AccountRecord(
                timestamp: ts, label: "plain", clientID: Secret("cid"), clientSecret: Secret("csec"),
                refreshToken: Secret("seed"))),
    ]

    @Test("every record type survives a write and a read", arguments: records)
    func roundTrip(record: StateRecord) throws {
        let line = record.jsonLine()
        #expect(!line.contains(UInt8(ascii: "\n")))
        let decoded = try StateRecord.decode(line: line)
        #expect(decoded == record)
    }

    @Test("lines start with ts and type, in UTC with milliseconds")
    func lineShape() {
        let status = StateRecord.status(StatusRecord(timestamp: Self.ts, state: "disabled", reason: "spam", by: .auto))
        #expect(
            String(decoding: status.jsonLine(), as: UTF8.self)
                == #"{"ts":"2025-06-15T15:06:40.500Z","type":"status","state":"disabled","reason":"spam","by":"auto"}"#)
        let stats = StateRecord.stats(StatsRecord(timestamp: Self.ts, counters: StatsCounters(successes: 1)))
        #expect(
            String(decoding: stats.jsonLine(), as: UTF8.self)
                == #"{"ts":"2025-06-15T15:06:40.500Z","type":"stats","successes":1,"failures":0,"input_tokens":0,"output_tokens":0}"#)
        let token = String(decoding: Self.records[0].jsonLine(), as: UTF8.self)
        #expect(
            token.hasPrefix(
                #"{"ts":"2025-06-15T15:06:40.500Z","type":"token","refresh_token":"rt-1","access_token":"at-1","expires_at":"2025-06-15T16:06:40.250Z""#
            ))
        let account = String(decoding: Self.records[5].jsonLine(), as: UTF8.self)
        #expect(account.contains(#""profile_arn":null,"enabled":true,"weight":1}"#))
    }

    @Test("a timestamp read from a file is written back with the same milliseconds")
    func timestampRoundTrip() throws {
        for text in [
            "2026-12-06T10:00:16.359Z", "2026-12-06T10:00:16.001Z", "2026-12-06T10:00:16.999Z", "2026-12-06T10:00:16.000Z",
            "1999-01-01T00:00:00.123Z",
        ] {
            let date = try #require(StateTimestamp.parse(text))
            #expect(StateTimestamp.format(date) == text)
        }
        #expect(StateTimestamp.format(Date(timeIntervalSince1970: 1.9996)) == "1970-01-01T00:00:02.000Z")
    }

    @Test("an unknown type is skipped; timestamps without milliseconds are accepted")
    func unknownAndLenient() throws {
        #expect(try StateRecord.decode(line: Array(#"{"ts":"2025-01-01T00:00:00Z","type":"future","x":[1]}"#.utf8)) == nil)
        let status = try StateRecord.decode(line: Array(#"{"ts":"2025-01-01T00:00:00Z","type":"status","state":"disabled"}"#.utf8))
        #expect(status == .status(StatusRecord(timestamp: Date(timeIntervalSince1970: 1_735_689_600), state: "disabled", by: .operator)))
    }

    @Test(
        "invalid lines are errors that never quote the line",
        arguments: [
            #"{"ts":"2025-01-01T00:00:00Z","type":"token","refresh_token":"SECRET-RT","access_token":"SECRET-AT"}"#,
            #"{"ts":"2025-01-01T00:00:00Z","type":"tok"#,
            #"{"ts":"yesterday","type":"token","refresh_token":"SECRET-RT"}"#,
            #"{"ts":"2025-01-01T00:00:00Z","type":"stats","successes":"SECRET-RT"}"#,
            #"["SECRET-RT"]"#,
            "SECRET-RT",
        ])
    func invalidLines(line: String) {
        #expect {
            _ = try StateRecord.decode(line: Array(line.utf8))
        } throws: { error in
            "\(error)".contains("SECRET") == false
        }
    }

    @Test("printing a record shows no secret")
    func redacted() {
        let text = "\(Self.records[0]) \(Self.records[4])"
        #expect(!text.contains("rt-1"))
        #expect(!text.contains("at-1"))
        #expect(!text.contains("csec"))
    }
}

@Suite("Refresh token chain")
struct RefreshChainTests {
    @Test("the fingerprint is a SHA-256 prefix")
    func fingerprint() {
        // SHA-256("abc") = ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
        #expect(RefreshTokenFingerprint.of("abc") == "sha256:ba7816bf8f01cfea")
        // SHA-256("") = e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
        #expect(RefreshTokenFingerprint.of("") == "sha256:e3b0c44298fc1c14")
        // Two blocks: SHA-256 of the 56-byte FIPS test message.
        #expect(
            RefreshTokenFingerprint.of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
                == "sha256:248d6a61d20638b8")
        #expect(RefreshTokenFingerprint.of(String(repeating: "a", count: 1000)) == "sha256:41edece42d63e8d9")
    }

    static func snapshot(source: String) -> AccountStateSnapshot {
        AccountStateSnapshot(
            accountID: "main",
            token: TokenRecord(
                timestamp: Date(timeIntervalSince1970: 1_750_000_000), refreshToken: Secret("rotated"),
                accessToken: Secret("access"), expiresAt: Date(timeIntervalSince1970: 1_750_003_600), source: source))
    }

    @Test("a chain that started from the configured token wins")
    func chainWins() {
        let yaml = Secret("seed-1")
        let chosen = effectiveRefreshToken(yamlToken: yaml, snapshot: Self.snapshot(source: RefreshTokenFingerprint.of(yaml)))
        #expect(chosen.origin == .stateFile)
        #expect(chosen.refreshToken == Secret("rotated"))
        #expect(chosen.accessToken == Secret("access"))
        #expect(chosen.expiresAt == Date(timeIntervalSince1970: 1_750_003_600))
        #expect(chosen.source == RefreshTokenFingerprint.of("seed-1"))
    }

    @Test("a chain from another token is ignored: the operator replaced the YAML token")
    func yamlWins() {
        let chosen = effectiveRefreshToken(
            yamlToken: Secret("seed-2"), snapshot: Self.snapshot(source: RefreshTokenFingerprint.of("seed-1")))
        #expect(chosen.origin == .seed)
        #expect(chosen.refreshToken == Secret("seed-2"))
        #expect(chosen.accessToken == nil)
        #expect(chosen.source == RefreshTokenFingerprint.of("seed-2"))
        let none = effectiveRefreshToken(yamlToken: Secret("seed-2"), snapshot: nil)
        #expect(none.origin == .seed)
        #expect(none.refreshToken == Secret("seed-2"))
    }
}
