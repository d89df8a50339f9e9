import ProxyConfig
import Testing

@Suite("Durations, sizes and addresses")
struct ValueSyntaxTests {
    @Test(
        "good durations",
        arguments: [
            ("1500ms", Duration.milliseconds(1500)), ("0s", .zero), ("15s", .seconds(15)), ("10m", .seconds(600)),
            ("1h", .seconds(3600)), ("'45s'", .seconds(45)), ("\"2h\"", .seconds(7200)), ("1 s", .seconds(1)),
        ]
    )
    func goodDurations(text: String, expected: Duration) throws {
        let config = try load("balancing: {cooldown: \(text)}")
        #expect(config.balancing.cooldown == expected)
    }

    @Test(
        "bad durations",
        arguments: [
            ("15", "'15' has no unit; add a unit: ms, s, m or h (e.g. 15s)"),
            ("1.5h", "'1.5h' must use a whole number; use a smaller unit instead (e.g. 1500ms, 90m)"),
            ("10d", "'10d' has an unknown unit 'd'; use ms, s, m or h"),
            ("-5s", "must not be negative"),
            ("soon", "'soon' is not a duration; use an integer and a unit: ms, s, m or h (e.g. 15s)"),
            ("''", "'' is not a duration; use an integer and a unit: ms, s, m or h (e.g. 15s)"),
            (
                "99999999999999999999h",
                "'99999999999999999999h' is not a duration; use an integer and a unit: ms, s, m or h (e.g. 15s)"
            ),
            ("{a: 1}", "must be a duration such as 15s, not a mapping"),
        ]
    )
    func badDurations(text: String, message: String) throws {
        let error = try loadError("balancing: {cooldown: \(text)}")
        #expect(error.keyPath == "balancing.cooldown")
        #expect(error.message == message)
    }

    @Test("zero timeouts are rejected where a wait must be positive")
    func positiveDurations() throws {
        #expect(try loadError("upstream: {read_timeout: 0s}").message == "must be longer than 0")
        #expect(try loadError("balancing: {error_window: 0ms}").message == "must be longer than 0")
        #expect(try load("refresh: {before_expiry: 0s, jitter: 0ms}").refresh.jitter == .zero)
    }

    @Test(
        "good sizes",
        arguments: [
            ("100B", 100), ("1KB", 1000), ("1KiB", 1024), ("2MB", 2_000_000), ("20MiB", 20 * 1024 * 1024),
            ("1GB", 1_000_000_000), ("1GiB", 1 << 30), ("64kib", 64 * 1024),
        ]
    )
    func goodSizes(text: String, bytes: Int) throws {
        #expect(try load("limits: {max_body: \(text)}").limits.maxBody == bytes)
    }

    @Test(
        "bad sizes",
        arguments: [
            ("20", "'20' has no unit; add a unit: B, KB, KiB, MB, MiB, GB or GiB (e.g. 20MiB)"),
            ("20TB", "'20TB' has an unknown unit 'TB'; use B, KB, KiB, MB, MiB, GB or GiB"),
            ("1.5MiB", "'1.5MiB' must use a whole number; use a smaller unit instead (e.g. 1536KiB)"),
            ("0B", "must be at least 1 bytes"),
            ("big", "'big' is not a size; use an integer and a unit: B, KB, KiB, MB, MiB, GB or GiB (e.g. 20MiB)"),
            ("9999999999999GiB", "'9999999999999GiB' is too large"),
        ]
    )
    func badSizes(text: String, message: String) throws {
        let error = try loadError("limits: {max_body: \(text)}")
        #expect(error.keyPath == "limits.max_body")
        #expect(error.message == message)
    }

    @Test(
        "listen addresses",
        arguments: [
            ("127.0.0.1:8080", "127.0.0.1", 8080, true),
            ("127.1.2.3:1", "127.1.2.3", 1, true),
            ("localhost:0", "localhost", 0, true),
            ("'[::1]:8080'", "::1", 8080, true),
            ("'[0:0:0:0:0:0:0:1]:80'", "0:0:0:0:0:0:0:1", 80, true),
            ("'[::ffff:127.0.0.1]:80'", "::ffff:127.0.0.1", 80, true),
            ("0.0.0.0:65535", "0.0.0.0", 65535, false),
            ("'[::]:8080'", "::", 8080, false),
            ("q2api.example.com:443", "q2api.example.com", 443, false),
            ("192.168.1.10:8080", "192.168.1.10", 8080, false),
        ]
    )
    func goodAddresses(text: String, host: String, port: Int, loopback: Bool) throws {
        let config = try load("api_keys: [k]\nlisteners: [{address: \(text)}]")
        let address = try #require(config.listeners.first?.address)
        #expect(address.host == host)
        #expect(address.port == port)
        #expect(address.isLoopback == loopback)
    }

    @Test(
        "bad listen addresses",
        arguments: [
            ("127.0.0.1", "'127.0.0.1' has no port; write host:port, for example 127.0.0.1:8080"),
            ("127.0.0.1:65536", "port '65536' must be an integer from 0 to 65535"),
            ("127.0.0.1:-1", "port '-1' must be an integer from 0 to 65535"),
            ("127.0.0.1:http", "port 'http' must be an integer from 0 to 65535"),
            ("'::1:8080'", "'::1:8080': write IPv6 addresses in brackets, for example [::1]:8080"),
            ("'[::1]'", "'[::1]' has no port; write host:port, for example [::1]:8080"),
            ("'[::1:8080'", "'[::1:8080' has no closing ']'; write IPv6 addresses as [::1]:8080"),
            ("'[zz::1]:80'", "'zz::1' is not an IPv6 address"),
            ("':8080'", "':8080' has no host; use 0.0.0.0 for every IPv4 interface or 127.0.0.1 for this machine only"),
            ("256.0.0.1:80", "'256.0.0.1' is not an IP address or host name"),
            ("bad_host:80", "'bad_host' is not an IP address or host name"),
        ]
    )
    func badAddresses(text: String, message: String) throws {
        let error = try loadError("listeners:\n  - address: \(text)")
        #expect(error.keyPath == "listeners[0].address")
        #expect(error.line == 2)
        #expect(error.column == 5)
        #expect(error.message == message)
    }
}
