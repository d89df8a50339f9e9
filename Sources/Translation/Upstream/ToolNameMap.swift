/// Client tool names ↔ names the upstream accepts.
///
/// The upstream takes `^[a-zA-Z][a-zA-Z0-9_]*$`, at most 64 characters; MCP tools are named
/// like `mcp__github__create-pull-request`. Names are rewritten reversibly so the client
/// always sees its own names back in `tool_use` blocks.
package struct ToolNameMap: Sendable, Equatable {
    package static let maximumLength = 64

    private(set) var upstreamByClient: [String: String] = [:]
    private(set) var clientByUpstream: [String: String] = [:]

    package init() {}

    /// The upstream name for a client name, assigning one on first use.
    package mutating func upstreamName(for clientName: String) -> String {
        if let known = upstreamByClient[clientName] { return known }
        var candidate = Self.sanitised(clientName)
        var attempt = 1
        while let owner = clientByUpstream[candidate], owner != clientName {
            attempt += 1
            let suffix = "_\(attempt)"
            candidate = String(Self.sanitised(clientName).prefix(Self.maximumLength - suffix.count)) + suffix
        }
        upstreamByClient[clientName] = candidate
        clientByUpstream[candidate] = clientName
        return candidate
    }

    /// The client's name for an upstream name (the name itself when it was never rewritten).
    package func clientName(for upstreamName: String) -> String {
        clientByUpstream[upstreamName] ?? upstreamName
    }

    /// The names that had to change, for `explain`.
    package var renamed: [(client: String, upstream: String)] {
        upstreamByClient.filter { $0.key != $0.value }.map { ($0.key, $0.value) }.sorted { $0.client < $1.client }
    }

    static func sanitised(_ name: String) -> String {
        var scalars = String.UnicodeScalarView()
        for scalar in name.unicodeScalars {
            let isAllowed = scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || scalar == "_")
            scalars.append(isAllowed ? scalar : "_")
        }
        var result = String(scalars)
        if let first = result.unicodeScalars.first, !(first.isASCII && first.properties.isAlphabetic) {
            result = "t_" + result
        }
        if result.isEmpty { result = "tool" }
        if result.count > maximumLength {
            // Keep a readable prefix and a hash of the full name, so two long names sharing a prefix differ.
            let hash = String(Self.fnv1a(name), radix: 16)
            result = String(result.prefix(maximumLength - hash.count - 1)) + "_" + hash
        }
        return result
    }

    static func fnv1a(_ text: String) -> UInt32 {
        var hash: UInt32 = 0x811C_9DC5
        for byte in text.utf8 {
            hash ^= UInt32(byte)
            hash = hash &* 0x0100_0193
        }
        return hash
    }
}
