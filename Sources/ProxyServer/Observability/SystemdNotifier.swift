import ServiceLifecycle

#if canImport(Glibc)
    import Glibc
    #if canImport(CDispatch)
        import CDispatch  // on Linux `timespec` is reached through it (MemberImportVisibility)
    #endif
#elseif canImport(Darwin)
    import Darwin
#endif

/// The service manager notification protocol (`sd_notify(3)`): newline-separated `KEY=value`
/// datagrams sent to the unix socket named by `NOTIFY_SOCKET`.
///
/// With no socket (not started by systemd, or `Type=simple`) every call does nothing. A path
/// starting with `@` names a socket in the abstract namespace. Sending never blocks and a failure
/// is reported by the return value only: the service must keep running whatever systemd does.
package struct SystemdNotifier: Sendable {
    /// The socket path, `@name` for an abstract socket, nil when disabled.
    package let socketPath: String?

    /// `socketPath` explicit (tests); nil disables the notifier.
    package init(socketPath: String?) {
        self.socketPath = socketPath.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// From `NOTIFY_SOCKET`; disabled when it is unset or empty.
    package init() {
        self.init(socketPath: getenv("NOTIFY_SOCKET").map { String(cString: $0) })
    }

    package var isEnabled: Bool { socketPath != nil }

    /// `READY=1`: startup (or a reload) is complete.
    @discardableResult
    package func ready(status: String? = nil) -> Bool {
        send("READY=1" + (status.map { "\nSTATUS=" + Self.oneLine($0) } ?? ""))
    }

    /// `RELOADING=1` with the `MONOTONIC_USEC` that `Type=notify-reload` requires; follow with ``ready(status:)``.
    @discardableResult
    package func reloading() -> Bool {
        send("RELOADING=1\nMONOTONIC_USEC=\(Self.monotonicMicroseconds())")
    }

    /// `STATUS=…`: a one-line status shown by `systemctl status`.
    @discardableResult
    package func status(_ text: String) -> Bool {
        send("STATUS=" + Self.oneLine(text))
    }

    /// `STOPPING=1`: shutdown has begun (in-flight streams drain after this).
    @discardableResult
    package func stopping() -> Bool {
        send("STOPPING=1")
    }

    /// Sends one datagram; false when disabled or when the socket refused it.
    @discardableResult
    package func send(_ message: String) -> Bool {
        guard let socketPath else { return false }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var pathBytes = Array(socketPath.utf8)
        let abstract = pathBytes.first == UInt8(ascii: "@")
        if abstract { pathBytes[0] = 0 }
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        // A filesystem path needs room for its terminating NUL; an abstract name does not have one.
        guard !pathBytes.isEmpty, pathBytes.count + (abstract ? 0 : 1) <= capacity else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: pathBytes)
        }
        let pathOffset = MemoryLayout<sockaddr_un>.offset(of: \.sun_path) ?? 2
        let length = socklen_t(pathOffset + pathBytes.count + (abstract ? 0 : 1))

        #if canImport(Glibc)
            let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        #else
            let fd = socket(AF_UNIX, SOCK_DGRAM, 0)
        #endif
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let bytes = Array(message.utf8)
        let sent = bytes.withUnsafeBytes { buffer in
            withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                    sendto(fd, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL), socketAddress, length)
                }
            }
        }
        return sent == bytes.count
    }

    /// `clock_gettime(CLOCK_MONOTONIC)` in microseconds, the clock systemd compares reload times on.
    package static func monotonicMicroseconds() -> UInt64 {
        #if canImport(Glibc)
            var now = Glibc.timespec()
        #else
            var now = Darwin.timespec()
        #endif
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1000
    }

    static func oneLine(_ text: String) -> String {
        String(text.map { $0.isNewline ? " " : $0 })
    }
}

/// Sends `STOPPING=1` as soon as graceful shutdown begins. Put it last in the service group: the
/// group shuts services down in reverse order, so this one hears of the shutdown first and
/// systemd learns of it before the listeners start draining.
package struct SystemdStoppingNotice: Service {
    let notifier: SystemdNotifier

    package init(notifier: SystemdNotifier) {
        self.notifier = notifier
    }

    package func run() async throws {
        do {
            try await gracefulShutdown()
            notifier.stopping()
        } catch {
            // Cancelled without a graceful shutdown: the process is going away anyway.
            notifier.stopping()
        }
    }
}
