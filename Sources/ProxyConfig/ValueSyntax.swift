import Foundation

// The small text grammars of q2api.yaml: durations, sizes, `${VAR}` substitution, listen addresses, URLs and
// paths. Each parser returns a value or a message suitable for a ConfigError; none echoes secret input.

// MARK: - Durations and sizes

enum DurationSyntax {
    /// Parses `<integer><unit>` with unit `ms`, `s`, `m` or `h` (for example `1500ms`, `15s`, `10m`, `1h`).
    static func parse(_ text: String) -> Result<Duration, SyntaxError> {
        let (digits, unit) = splitNumber(text)
        guard !digits.isEmpty, let amount = Int64(digits) else {
            if text.hasPrefix("-") { return .failure(SyntaxError("must not be negative")) }
            return .failure(
                SyntaxError("'\(text)' is not a duration; use an integer and a unit: ms, s, m or h (e.g. 15s)"))
        }
        if unit.hasPrefix(".") || unit.hasPrefix(",") {
            return .failure(
                SyntaxError("'\(text)' must use a whole number; use a smaller unit instead (e.g. 1500ms, 90m)"))
        }
        let factor: Int64
        switch unit {
        case "": return .failure(SyntaxError("'\(text)' has no unit; add a unit: ms, s, m or h (e.g. \(text)s)"))
        case "ms": factor = 1
        case "s": factor = 1000
        case "m": factor = 60_000
        case "h": factor = 3_600_000
        default: return .failure(SyntaxError("'\(text)' has an unknown unit '\(unit)'; use ms, s, m or h"))
        }
        let (milliseconds, overflow) = amount.multipliedReportingOverflow(by: factor)
        guard !overflow else { return .failure(SyntaxError("'\(text)' is too large")) }
        return .success(.milliseconds(milliseconds))
    }

    /// The shortest exact spelling of a duration in the units above (`90s`, `10m`, `1500ms`).
    static func format(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let milliseconds = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        if milliseconds % 1000 != 0 { return "\(milliseconds)ms" }
        let wholeSeconds = milliseconds / 1000
        if wholeSeconds != 0, wholeSeconds % 3600 == 0 { return "\(wholeSeconds / 3600)h" }
        if wholeSeconds != 0, wholeSeconds % 60 == 0 { return "\(wholeSeconds / 60)m" }
        return "\(wholeSeconds)s"
    }
}

enum SizeSyntax {
    private static let units: [(name: String, factor: Int)] = [
        ("b", 1), ("kb", 1000), ("kib", 1024), ("mb", 1_000_000), ("mib", 1 << 20), ("gb", 1_000_000_000),
        ("gib", 1 << 30),
    ]

    /// Parses `<integer><unit>` with unit `B`, `KB`, `KiB`, `MB`, `MiB`, `GB` or `GiB` (any case) into bytes.
    static func parse(_ text: String) -> Result<Int, SyntaxError> {
        let (digits, rawUnit) = splitNumber(text)
        guard !digits.isEmpty, let amount = Int(digits) else {
            if text.hasPrefix("-") { return .failure(SyntaxError("must not be negative")) }
            return .failure(
                SyntaxError(
                    "'\(text)' is not a size; use an integer and a unit: B, KB, KiB, MB, MiB, GB or GiB (e.g. 20MiB)"))
        }
        let unit = rawUnit.lowercased()
        if unit.hasPrefix(".") || unit.hasPrefix(",") {
            return .failure(SyntaxError("'\(text)' must use a whole number; use a smaller unit instead (e.g. 1536KiB)"))
        }
        if unit.isEmpty {
            return .failure(
                SyntaxError("'\(text)' has no unit; add a unit: B, KB, KiB, MB, MiB, GB or GiB (e.g. \(text)MiB)"))
        }
        guard let factor = units.first(where: { $0.name == unit })?.factor else {
            return .failure(
                SyntaxError("'\(text)' has an unknown unit '\(rawUnit)'; use B, KB, KiB, MB, MiB, GB or GiB"))
        }
        let (bytes, overflow) = amount.multipliedReportingOverflow(by: factor)
        guard !overflow else { return .failure(SyntaxError("'\(text)' is too large")) }
        return .success(bytes)
    }

    /// A readable size: `20 MiB` when exact in binary units, otherwise bytes.
    static func format(_ bytes: Int) -> String {
        for (name, factor) in [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1024)]
        where bytes != 0 && bytes % factor == 0 {
            return "\(bytes / factor) \(name)"
        }
        return "\(bytes) B"
    }
}

/// Splits `"15s"` into `("15", "s")`; leading ASCII digits, then the rest with surrounding spaces removed.
private func splitNumber(_ text: String) -> (digits: String, unit: String) {
    let digits = text.prefix { $0.isASCII && $0.isNumber }
    let unit = text.dropFirst(digits.count)
    return (String(digits), String(unit).trimmingWhitespace())
}

/// A problem with a value's text; the message never contains more of the value than the parser chose to quote.
struct SyntaxError: Error {
    var message: String
    init(_ message: String) { self.message = message }
}

// MARK: - Environment substitution

enum EnvironmentSubstitution {
    /// Replaces `${VAR}` and `${VAR:-default}` in `text` with values from `environment`; `$${` is a literal `${`.
    ///
    /// `${VAR:-default}` uses the default when `VAR` is unset or empty. A `$` not followed by `{` is literal.
    /// Errors name the variable, never the surrounding text (which may be a secret).
    static func apply(to text: String, environment: [String: String]) -> Result<String, SyntaxError> {
        guard text.contains("$") else { return .success(text) }
        var result = ""
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            guard character == "$" else {
                result.append(character)
                index = text.index(after: index)
                continue
            }
            let rest = text[index...]
            if rest.hasPrefix("$${") {
                result += "${"
                index = text.index(index, offsetBy: 3)
                continue
            }
            guard rest.hasPrefix("${") else {
                result.append(character)
                index = text.index(after: index)
                continue
            }
            let bodyStart = text.index(index, offsetBy: 2)
            guard let close = text[bodyStart...].firstIndex(of: "}") else {
                return .failure(SyntaxError("unterminated '${' (close it with '}', or write '$${' for a literal '${')"))
            }
            let body = text[bodyStart..<close]
            let name: Substring
            let fallback: Substring?
            if let separator = body.range(of: ":-") {
                name = body[..<separator.lowerBound]
                fallback = body[separator.upperBound...]
            } else {
                name = body
                fallback = nil
            }
            guard isValidName(name) else {
                // The reference's text is not quoted: it could be part of a secret.
                return .failure(
                    SyntaxError(
                        "invalid variable reference '${...}'; use ${NAME} or ${NAME:-default} with NAME made of letters, digits and _ (write '$${' for a literal '${')"
                    )
                )
            }
            let value = environment[String(name)]
            if let fallback {
                result += (value?.isEmpty ?? true) ? String(fallback) : value!
            } else if let value {
                result += value
            } else {
                return .failure(
                    SyntaxError("environment variable '\(name)' is not set (use ${\(name):-default} to give a default)")
                )
            }
            index = text.index(after: close)
        }
        return .success(result)
    }

    private static func isValidName(_ name: Substring) -> Bool {
        guard let first = name.utf8.first, first == UInt8(ascii: "_") || isLetter(first) else { return false }
        return name.utf8.allSatisfy {
            $0 == UInt8(ascii: "_") || isLetter($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0)
        }
    }

    private static func isLetter(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
    }
}

// MARK: - Addresses and URLs

enum AddressSyntax {
    /// Parses `host:port` or `[ipv6]:port`.
    static func parseListenAddress(_ text: String) -> Result<ListenAddress, SyntaxError> {
        let hostPart: Substring
        let portPart: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else {
                return .failure(SyntaxError("'\(text)' has no closing ']'; write IPv6 addresses as [::1]:8080"))
            }
            hostPart = text[text.index(after: text.startIndex)..<close]
            let afterClose = text[text.index(after: close)...]
            guard afterClose.hasPrefix(":") else {
                return .failure(SyntaxError("'\(text)' has no port; write host:port, for example [::1]:8080"))
            }
            portPart = afterClose.dropFirst()
            guard isIPv6(String(hostPart)) else {
                return .failure(SyntaxError("'\(hostPart)' is not an IPv6 address"))
            }
        } else {
            guard let colon = text.lastIndex(of: ":") else {
                return .failure(SyntaxError("'\(text)' has no port; write host:port, for example 127.0.0.1:8080"))
            }
            hostPart = text[..<colon]
            portPart = text[text.index(after: colon)...]
            if hostPart.contains(":") {
                return .failure(SyntaxError("'\(text)': write IPv6 addresses in brackets, for example [::1]:8080"))
            }
            if hostPart.isEmpty {
                return .failure(
                    SyntaxError(
                        "'\(text)' has no host; use 0.0.0.0 for every IPv4 interface or 127.0.0.1 for this machine only"
                    ))
            }
            guard isHostName(String(hostPart)) else {
                return .failure(SyntaxError("'\(hostPart)' is not an IP address or host name"))
            }
        }
        guard !portPart.isEmpty, portPart.allSatisfy({ $0.isASCII && $0.isNumber }), let port = Int(portPart),
            (0...65535).contains(port)
        else {
            return .failure(SyntaxError("port '\(portPart)' must be an integer from 0 to 65535"))
        }
        return .success(ListenAddress(host: String(hostPart), port: port))
    }

    static func isIPv4(_ text: String) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4
            && parts.allSatisfy { part in
                !part.isEmpty && part.count <= 3 && part.allSatisfy { $0.isASCII && $0.isNumber } && Int(part)! <= 255
            }
    }

    /// A loose IPv6 check: hex groups and colons, at most one `::`, an optional trailing IPv4 part and `%zone`.
    static func isIPv6(_ text: String) -> Bool {
        let address = text.split(separator: "%", maxSplits: 1, omittingEmptySubsequences: false)[0]
        guard address.contains(":"), address.components(separatedBy: "::").count <= 2 else { return false }
        var groups = address.split(separator: ":", omittingEmptySubsequences: true)
        if let last = groups.last, last.contains(".") {
            guard isIPv4(String(last)) else { return false }
            groups.removeLast()
        }
        return groups.count <= 8 && groups.allSatisfy { $0.count <= 4 && $0.allSatisfy(\.isHexDigit) }
    }

    /// Whether an IPv6 address (no brackets) is `::1` or an IPv4-mapped loopback address.
    static func isIPv6Loopback(_ text: String) -> Bool {
        let address = String(text.split(separator: "%", maxSplits: 1, omittingEmptySubsequences: false)[0]).lowercased()
        if let mapped = address.range(of: "::ffff:", options: .anchored) {
            let v4 = String(address[mapped.upperBound...])
            return isIPv4(v4) && v4.hasPrefix("127.")
        }
        guard let groups = expandIPv6(address) else { return false }
        return groups == [0, 0, 0, 0, 0, 0, 0, 1]
    }

    private static func expandIPv6(_ address: String) -> [UInt16]? {
        let halves = address.components(separatedBy: "::")
        func groups(_ part: String) -> [UInt16]? {
            if part.isEmpty { return [] }
            let values = part.split(separator: ":", omittingEmptySubsequences: false).map { UInt16($0, radix: 16) }
            return values.contains(nil) ? nil : values.map { $0! }
        }
        if halves.count == 1 {
            guard let all = groups(halves[0]), all.count == 8 else { return nil }
            return all
        }
        guard halves.count == 2, let head = groups(halves[0]), let tail = groups(halves[1]), head.count + tail.count < 8
        else { return nil }
        return head + Array(repeating: 0, count: 8 - head.count - tail.count) + tail
    }

    /// An IPv4 address or a DNS name made of letters, digits, `-` and `.`.
    static func isHostName(_ text: String) -> Bool {
        if text.allSatisfy({ ($0.isASCII && $0.isNumber) || $0 == "." }) { return isIPv4(text) }
        guard !text.isEmpty, text.utf8.count <= 253 else { return false }
        return text.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            !label.isEmpty && label.count <= 63 && !label.hasPrefix("-") && !label.hasSuffix("-")
                && label.allSatisfy { ($0.isASCII && ($0.isLetter || $0.isNumber)) || $0 == "-" }
        }
    }

    /// Parses an `http` or `https` URL with a host. Messages quote the URL without any user:password part.
    static func parseHTTPURL(_ text: String, what: String) -> Result<URL, SyntaxError> {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased() else {
            return .failure(SyntaxError("'\(redactedURLText(text))' is not a URL; write \(what)"))
        }
        guard scheme == "http" || scheme == "https" else {
            return .failure(SyntaxError("scheme '\(scheme)' is not supported; write \(what)"))
        }
        guard let host = url.host, !host.isEmpty else {
            return .failure(SyntaxError("'\(redactedURLText(text))' has no host; write \(what)"))
        }
        return .success(url)
    }

    /// The URL without credentials, for display.
    static func redacted(_ url: URL) -> String {
        guard url.user != nil || url.password != nil,
            var components = URLComponents(url: url, resolvingAgainstBaseURL: false)
        else { return url.absoluteString }
        components.user = nil
        components.password = nil
        return (components.string ?? "<url>").replacingOccurrences(of: "://", with: "://<redacted>@")
    }

    /// URL-ish text with anything between `://` and `@` removed.
    static func redactedURLText(_ text: String) -> String {
        guard let schemeEnd = text.range(of: "://"), let at = text[schemeEnd.upperBound...].firstIndex(of: "@") else {
            return text
        }
        return String(text[..<schemeEnd.upperBound]) + "<redacted>@" + String(text[text.index(after: at)...])
    }
}

// MARK: - Paths

enum PathSyntax {
    /// The directory part of a file path: `"/etc/q2api"` for `"/etc/q2api/q2api.yaml"`, `"."` for `"q2api.yaml"`.
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }

    /// `path` when absolute, otherwise `path` under `directory`, with `.` components and duplicate slashes removed.
    static func resolve(_ path: String, against directory: String) -> String {
        if path.hasPrefix("/") { return normalize(path) }
        if path.hasPrefix("~/"), let home = ProcessInfo.processInfo.environment["HOME"] {
            return normalize(home + "/" + path.dropFirst(2))
        }
        return normalize(directory + "/" + path)
    }

    static func normalize(_ path: String) -> String {
        let absolute = path.hasPrefix("/")
        let parts = path.split(separator: "/").filter { $0 != "." }
        let joined = parts.joined(separator: "/")
        if absolute { return "/" + joined }
        return joined.isEmpty ? "." : joined
    }
}

// MARK: - Suggestions

enum Suggestion {
    /// The candidate closest to `word` by edit distance (ignoring case), if that distance is at most 2.
    static func closest(to word: String, in candidates: [String]) -> String? {
        let target = Array(word.lowercased())
        var best: (candidate: String, distance: Int)?
        for candidate in candidates {
            let distance = editDistance(target, Array(candidate.lowercased()))
            if distance <= 2, distance < (best?.distance ?? .max) {
                best = (candidate, distance)
            }
        }
        return best?.candidate
    }

    /// Levenshtein distance.
    static func editDistance(_ lhs: [Character], _ rhs: [Character]) -> Int {
        if lhs.isEmpty { return rhs.count }
        if rhs.isEmpty { return lhs.count }
        var previous = Array(0...rhs.count)
        var current = Array(repeating: 0, count: rhs.count + 1)
        for i in 1...lhs.count {
            current[0] = i
            for j in 1...rhs.count {
                let cost = lhs[i - 1] == rhs[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            }
            swap(&previous, &current)
        }
        return previous[rhs.count]
    }
}
