import Foundation
import ProxyConfig

// MARK: - Writing

extension StateRecord {
    /// The record as one line of JSON, without the trailing newline.
    ///
    /// Members are written in a fixed order (`ts`, `type`, then the record's fields) so that `tail` output reads
    /// well; absent optionals are left out.
    package func jsonLine() -> [UInt8] {
        var writer = LineWriter()
        writer.string("ts", StateTimestamp.format(timestamp))
        writer.string("type", type)
        switch self {
        case .token(let record):
            writer.string("refresh_token", record.refreshToken.value)
            writer.string("access_token", record.accessToken.value)
            writer.string("expires_at", StateTimestamp.format(record.expiresAt))
            writer.string("source", record.source)
        case .status(let record):
            writer.string("state", record.state)
            if let reason = record.reason { writer.string("reason", reason) }
            writer.string("by", record.by.rawValue)
            if let source = record.source { writer.string("source", source) }
        case .stats(let record):
            writer.integer("successes", record.counters.successes)
            writer.integer("failures", record.counters.failures)
            writer.integer("input_tokens", record.counters.inputTokens)
            writer.integer("output_tokens", record.counters.outputTokens)
        case .account(let record):
            writer.string("label", record.label)
            writer.string("client_id", record.clientID.value)
            writer.string("client_secret", record.clientSecret.value)
            writer.string("refresh_token", record.refreshToken.value)
            if let arn = record.profileARN { writer.string("profile_arn", arn) } else { writer.null("profile_arn") }
            writer.boolean("enabled", record.enabled)
            writer.integer("weight", record.weight)
            if let region = record.region { writer.string("region", region) }
            if let endpoint = record.endpoint { writer.string("endpoint", endpoint) }
        }
        return writer.finish()
    }
}

/// Writes one flat JSON object with members in call order.
private struct LineWriter {
    private var bytes: [UInt8] = [UInt8(ascii: "{")]
    private var first = true

    mutating func string(_ key: String, _ value: String) {
        self.key(key)
        Self.quote(value, into: &bytes)
    }

    mutating func integer(_ key: String, _ value: Int) {
        self.key(key)
        bytes.append(contentsOf: String(value).utf8)
    }

    mutating func boolean(_ key: String, _ value: Bool) {
        self.key(key)
        bytes.append(contentsOf: (value ? "true" : "false").utf8)
    }

    mutating func null(_ key: String) {
        self.key(key)
        bytes.append(contentsOf: "null".utf8)
    }

    mutating func finish() -> [UInt8] {
        bytes.append(UInt8(ascii: "}"))
        return bytes
    }

    private mutating func key(_ key: String) {
        if !first { bytes.append(UInt8(ascii: ",")) }
        first = false
        Self.quote(key, into: &bytes)
        bytes.append(UInt8(ascii: ":"))
    }

    private static func quote(_ text: String, into bytes: inout [UInt8]) {
        let hex = Array("0123456789abcdef".utf8)
        bytes.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(contentsOf: #"\""#.utf8)
            case UInt8(ascii: "\\"): bytes.append(contentsOf: #"\\"#.utf8)
            case UInt8(ascii: "\n"): bytes.append(contentsOf: #"\n"#.utf8)
            case UInt8(ascii: "\r"): bytes.append(contentsOf: #"\r"#.utf8)
            case UInt8(ascii: "\t"): bytes.append(contentsOf: #"\t"#.utf8)
            case 0..<0x20:
                bytes.append(contentsOf: #"\u00"#.utf8)
                bytes.append(hex[Int(byte >> 4)])
                bytes.append(hex[Int(byte & 0x0f)])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}

// MARK: - Reading

/// Why a line of a state file could not be read. The description names the problem, never a value.
package struct StateRecordDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    package var description: String
}

extension StateRecord {
    /// Reads one line (without its newline).
    ///
    /// - Returns: The record, or `nil` when the line is a valid object of a `type` this version does not know
    ///   (skipped, for forward compatibility).
    /// - Throws: ``StateRecordDecodingError`` when the line is not a JSON object, lacks `ts` or `type`, or a known
    ///   type lacks a required member. The error never quotes the line.
    package static func decode(line: some Collection<UInt8>) throws(StateRecordDecodingError) -> StateRecord? {
        switch try decodeLine(line) {
        case .record(let record): record
        case .unknown: nil
        }
    }

    /// A line that could be read: a known record, or an object with a `type` this version does not know.
    enum DecodedLine {
        case record(StateRecord)
        case unknown(type: String)
    }

    static func decodeLine(_ line: some Collection<UInt8>) throws(StateRecordDecodingError) -> DecodedLine {
        let data = Data(line)
        let decoder = JSONDecoder()
        let header: Header
        do {
            header = try decoder.decode(Header.self, from: data)
        } catch {
            throw StateRecordDecodingError(description: "not a JSON object with string \"ts\" and \"type\"")
        }
        guard let timestamp = StateTimestamp.parse(header.ts) else {
            throw StateRecordDecodingError(description: "\"ts\" is not an ISO-8601 timestamp")
        }
        guard ["token", "status", "stats", "account"].contains(header.type) else { return .unknown(type: header.type) }
        let body: Body
        do {
            body = try decoder.decode(Body.self, from: data)
        } catch {
            throw StateRecordDecodingError(description: "a \(header.type) record member has the wrong type")
        }
        func required<T>(_ value: T?, _ name: String) throws(StateRecordDecodingError) -> T {
            guard let value else {
                throw StateRecordDecodingError(description: "\(header.type) record without \"\(name)\"")
            }
            return value
        }
        let record: StateRecord
        switch header.type {
        case "token":
            let expiresText = try required(body.expires_at, "expires_at")
            guard let expiresAt = StateTimestamp.parse(expiresText) else {
                throw StateRecordDecodingError(description: "\"expires_at\" is not an ISO-8601 timestamp")
            }
            record = .token(
                TokenRecord(
                    timestamp: timestamp,
                    refreshToken: Secret(try required(body.refresh_token, "refresh_token")),
                    accessToken: Secret(try required(body.access_token, "access_token")),
                    expiresAt: expiresAt,
                    source: try required(body.source, "source")))
        case "status":
            record = .status(
                StatusRecord(
                    timestamp: timestamp,
                    state: try required(body.state, "state"),
                    reason: body.reason,
                    by: StatusActor(rawValue: body.by ?? StatusActor.operator.rawValue),
                    source: body.source))
        case "stats":
            record = .stats(
                StatsRecord(
                    timestamp: timestamp,
                    counters: StatsCounters(
                        successes: body.successes ?? 0,
                        failures: body.failures ?? 0,
                        inputTokens: body.input_tokens ?? 0,
                        outputTokens: body.output_tokens ?? 0)))
        default:
            record = .account(
                AccountRecord(
                    timestamp: timestamp,
                    label: body.label ?? "",
                    clientID: Secret(try required(body.client_id, "client_id")),
                    clientSecret: Secret(try required(body.client_secret, "client_secret")),
                    refreshToken: Secret(try required(body.refresh_token, "refresh_token")),
                    profileARN: body.profile_arn.flatMap { $0.isEmpty ? nil : $0 },
                    enabled: body.enabled ?? true,
                    weight: body.weight ?? 1,
                    region: body.region.flatMap { $0.isEmpty ? nil : $0 },
                    endpoint: body.endpoint.flatMap { $0.isEmpty ? nil : $0 }))
        }
        return .record(record)
    }

    /// The members every line has; decoded first, so that an unknown type is skipped whatever its other members.
    private struct Header: Decodable {
        var ts: String
        var type: String
    }

    /// Every member of every known type, all optional; the switch above checks what each type requires.
    private struct Body: Decodable {
        // swift-format-ignore: AlwaysUseLowerCamelCase
        var refresh_token: String?
        var access_token: String?
        var expires_at: String?
        var source: String?
        var state: String?
        var reason: String?
        var by: String?
        var successes: Int?
        var failures: Int?
        var input_tokens: Int?
        var output_tokens: Int?
        var label: String?
        var client_id: String?
        var client_secret: String?
        var profile_arn: String?
        var enabled: Bool?
        var weight: Int?
        var region: String?
        var endpoint: String?
    }
}
