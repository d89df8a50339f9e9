import Foundation
import Logging
import ProxyConfig
import ProxyServer
import ServiceLifecycle
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("sd_notify and the systemd unit", .serialized)
struct ObservabilitySystemdTests {
    @Test("READY=1, RELOADING=1 with MONOTONIC_USEC, STATUS= and STOPPING=1 reach the notify socket")
    func notifications() throws {
        let sink = try DatagramSink()
        defer { sink.close() }
        let notifier = SystemdNotifier(socketPath: sink.path)
        #expect(notifier.isEnabled)

        #expect(notifier.ready(status: "serving; 2 of 3 accounts usable"))
        #expect(sink.receive() == "READY=1\nSTATUS=serving; 2 of 3 accounts usable")

        let before = SystemdNotifier.monotonicMicroseconds()
        #expect(notifier.reloading())
        let reloading = try #require(sink.receive())
        let lines = reloading.split(separator: "\n")
        #expect(lines.first == "RELOADING=1")
        let stamp = try #require(lines.last.flatMap { $0.hasPrefix("MONOTONIC_USEC=") ? UInt64($0.dropFirst("MONOTONIC_USEC=".count)) : nil })
        #expect(stamp >= before && stamp <= SystemdNotifier.monotonicMicroseconds())
        #expect(lines.count == 2)

        #expect(notifier.status("two\nlines"))
        #expect(sink.receive() == "STATUS=two lines")
        #expect(notifier.stopping())
        #expect(sink.receive() == "STOPPING=1")
    }

    @Test("an abstract socket (@name) works too")
    func abstractSocket() throws {
        let name = "q2api-test-\(UUID().uuidString)"
        let sink = try DatagramSink(abstractName: name)
        defer { sink.close() }
        #expect(SystemdNotifier(socketPath: "@" + name).ready())
        #expect(sink.receive() == "READY=1")
    }

    @Test("without NOTIFY_SOCKET nothing is sent and nothing fails")
    func disabled() {
        let notifier = SystemdNotifier(socketPath: nil)
        #expect(!notifier.isEnabled)
        #expect(!notifier.ready())
        #expect(!notifier.reloading())
        #expect(!notifier.stopping())
        #expect(!SystemdNotifier(socketPath: "").isEnabled)
        // A socket nobody listens on: a failed send, not a crash.
        #expect(!SystemdNotifier(socketPath: "/nonexistent/q2api/notify").ready())
    }

    @Test("the server sends READY=1 with STATUS= once its listeners are bound, and STOPPING=1 when shutdown begins")
    func serverLifecycle() async throws {
        let sink = try DatagramSink()
        defer { sink.close() }
        let config = try ProxyConfig.parse(
            yaml: """
                version: 1
                listeners:
                  - address: 127.0.0.1:0
                  - address: 127.0.0.1:0
                log: {level: critical}
                accounts: []
                """,
            path: "systemd-test.yaml", environment: [:])
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        var reload = ReloadOptions()
        reload.reloadOnSignal = false
        reload.pollInterval = nil
        reload.environment = [:]
        var service = ProxyServerService(config: config, template: try config.compiledTemplate(), logger: logger, reload: reload)
        let notifier = SystemdNotifier(socketPath: sink.path)
        service.notifier = notifier
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: service), .init(service: SystemdStoppingNotice(notifier: notifier))], logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let ready = await sink.receive(within: .seconds(10))
            #expect(ready?.hasPrefix("READY=1\nSTATUS=serving; 0 of 0 accounts usable") == true)
            await group.triggerGracefulShutdown()
            let stopping = await sink.receive(within: .seconds(10))
            #expect(stopping == "STOPPING=1")
            try await tasks.waitForAll()
        }
    }

    @Test("examples/systemd/q2api.service has the required settings (and passes systemd-analyze verify when available)")
    func unitFile() throws {
        let path = Self.repositoryRoot.appendingPathComponent("examples/systemd/q2api.service").path
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let unit = SystemdUnit(text)
        #expect(unit["Service", "Type"] == ["notify-reload"])
        #expect(text.contains("Type=notify\n") && text.contains("ExecReload=/bin/kill -HUP $MAINPID"), "the fallback for systemd < 253 is documented")
        #expect(unit["Service", "ExecStartPre"] == ["/usr/local/bin/q2api check -c /etc/q2api/q2api.yaml"])
        #expect(unit["Service", "ExecStart"] == ["/usr/local/bin/q2api serve -c /etc/q2api/q2api.yaml"])
        #expect(unit["Service", "StateDirectory"] == ["q2api"])
        #expect(text.contains("state_dir: /var/lib/q2api"))
        #expect(unit["Service", "DynamicUser"] == ["yes"] || unit["Service", "User"] != nil)
        for (key, value) in [
            ("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"), ("ProtectHome", "yes"), ("PrivateTmp", "yes"),
            ("RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"), ("ProtectKernelTunables", "yes"), ("LockPersonality", "yes"),
            ("KillSignal", "SIGTERM"),
        ] {
            #expect(unit["Service", key] == [value], "\(key)=\(value)")
        }
        #expect(unit["Service", "TimeoutStopSec"] != nil)
        #expect(unit["Install", "WantedBy"] == ["multi-user.target"])

        guard let analyze = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"].first(where: FileManager.default.isExecutableFile(atPath:)) else {
            return  // not installed: the checks above are all we can do
        }
        // Verify the unit as written, and its fallback for older systemd, with a binary that exists.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("q2api-unit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let runnable = text.replacingOccurrences(of: "/usr/local/bin/q2api", with: "/bin/true")
        let version = Self.run(analyze, ["--version"]).output.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        let variants: [(String, String)] = [
            ("q2api.service", runnable),
            (
                "q2api-fallback.service",
                runnable.replacingOccurrences(of: "Type=notify-reload\n", with: "Type=notify\nExecReload=/bin/kill -HUP $MAINPID\n")
                    .replacingOccurrences(of: "ReloadSignal=SIGHUP\n", with: "")
            ),
        ]
        for (name, content) in variants {
            let file = directory.appendingPathComponent(name).path
            try content.write(toFile: file, atomically: true, encoding: .utf8)
            let result = Self.run(analyze, ["verify", file])
            #expect(result.status == 0, "systemd-analyze verify \(name): \(result.output)")
            let complaints = result.output.split(separator: "\n").filter { line in
                // systemd < 253 does not know notify-reload yet; the fallback variant covers it.
                !(version < 253 && (line.contains("notify-reload") || line.contains("ReloadSignal")))
            }
            #expect(complaints.isEmpty, "systemd-analyze verify \(name) (systemd \(version)): \(complaints)")
        }
    }

    static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    static func run(_ executable: String, _ arguments: [String]) -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        do { try process.run() } catch { return (-1, "\(error)") }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}

/// `[Section]` / `Key=value` lines of a unit file; a key may repeat.
struct SystemdUnit {
    var values: [String: [String: [String]]] = [:]

    init(_ text: String) {
        var section = ""
        for raw in text.split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") && line.hasSuffix("]") {
                section = String(line.dropFirst().dropLast())
                continue
            }
            guard let equals = line.firstIndex(of: "=") else { continue }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            values[section, default: [:]][key, default: []].append(value)
        }
    }

    subscript(section: String, key: String) -> [String]? { values[section]?[key] }
}

/// A unix datagram socket bound in a temp directory (or the abstract namespace), standing in for systemd.
final class DatagramSink: @unchecked Sendable {
    let fd: Int32
    let path: String
    private let file: String?

    init(abstractName: String? = nil) throws {
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EIO) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var bytes: [UInt8]
        if let abstractName {
            bytes = [0] + Array(abstractName.utf8)
            path = "@" + abstractName
            file = nil
        } else {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("q2n-\(UUID().uuidString.prefix(8))").path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            path = directory + "/notify"
            file = path
            bytes = Array(path.utf8) + [0]
        }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let length = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + bytes.count)
        let bound = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0 else {
            Glibc.close(fd)
            throw POSIXError(.EADDRINUSE)
        }
    }

    /// The next datagram, waiting at most `timeoutMilliseconds`.
    func receive(timeoutMilliseconds: Int32 = 1000) -> String? {
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&descriptor, 1, timeoutMilliseconds) == 1 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = recv(fd, &buffer, buffer.count, 0)
        guard count >= 0 else { return nil }
        return String(decoding: buffer[..<count], as: UTF8.self)
    }

    /// Polls without blocking the cooperative pool for long.
    func receive(within timeout: Duration) async -> String? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let message = receive(timeoutMilliseconds: 0) { return message }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return nil
    }

    func close() {
        Glibc.close(fd)
        if let file {
            unlink(file)
            try? FileManager.default.removeItem(atPath: (file as NSString).deletingLastPathComponent)
        }
    }
}
