import ProxyConfig
import ProxyModels

// MARK: - Writing

extension StateRecord {
    /// The record as one line of JSON, without the trailing newline.
    ///
    /// Members are written in a fixed order (`ts`, `type`, then the record's fields) so that `tail` output reads
    /// well; absent optionals are left out. The escaping is the one every reply uses (``JSONWriter``).
    package func jsonLine() -> [UInt8] {
        var members: [JSONMember] = [
            JSONMember("ts", .string(StateTimestamp.format(timestamp))), JSONMember("type", .string(type)),
        ]
        func add(_ key: String, _ value: JSONValue?) {
            if let value { members.append(JSONMember(key, value)) }
        }
        switch self {
        case .token(let record):
            add("refresh_token", .string(record.refreshToken.value))
            add("access_token", .string(record.accessToken.value))
            add("expires_at", .string(StateTimestamp.format(record.expiresAt)))
            add("source", .string(record.source))
            add("kind", record.kind.map { .string($0.rawValue) })
            add("profile_arn", record.profileARN.map(JSONValue.string))
        case .status(let record):
            add("state", .string(record.state))
            add("reason", record.reason.map(JSONValue.string))
            add("by", .string(record.by.rawValue))
            add("source", record.source.map(JSONValue.string))
        case .stats(let record):
            add("successes", .int(record.counters.successes))
            add("failures", .int(record.counters.failures))
            add("input_tokens", .int(record.counters.inputTokens))
            add("output_tokens", .int(record.counters.outputTokens))
        case .account(let record):
            add("label", .string(record.label))
            if record.kind != .oidc { add("kind", .string(record.kind.rawValue)) }
            if record.kind == .oidc {
                add("client_id", .string(record.clientID.value))
                add("client_secret", .string(record.clientSecret.value))
            }
            add("refresh_token", .string(record.refreshToken.value))
            add("profile_arn", record.profileARN.map(JSONValue.string) ?? .null)
            add("enabled", .bool(record.enabled))
            add("weight", .int(record.weight))
            add("region", record.region.map(JSONValue.string))
            add("endpoint", record.endpoint.map(JSONValue.string))
        }
        var bytes: [UInt8] = []
        JSONWriter.write(.object(members), into: &bytes)
        return bytes
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
        let object: JSONValue
        do {
            object = try JSONParser.parse(Array(line))
        } catch {
            throw StateRecordDecodingError(description: "not a JSON object with string \"ts\" and \"type\"")
        }
        guard case .object = object, let ts = object["ts"]?.stringValue, let type = object["type"]?.stringValue else {
            throw StateRecordDecodingError(description: "not a JSON object with string \"ts\" and \"type\"")
        }
        guard let timestamp = StateTimestamp.parse(ts) else {
            throw StateRecordDecodingError(description: "\"ts\" is not an ISO-8601 timestamp")
        }
        guard ["token", "status", "stats", "account"].contains(type) else { return .unknown(type: type) }
        let body = Members(object: object, type: type)
        func required<T>(_ value: T?, _ name: String) throws(StateRecordDecodingError) -> T {
            guard let value else {
                throw StateRecordDecodingError(description: "\(type) record without \"\(name)\"")
            }
            return value
        }
        let record: StateRecord
        switch type {
        case "token":
            let expiresText = try required(body.string("expires_at"), "expires_at")
            guard let expiresAt = StateTimestamp.parse(expiresText) else {
                throw StateRecordDecodingError(description: "\"expires_at\" is not an ISO-8601 timestamp")
            }
            record = .token(
                TokenRecord(
                    timestamp: timestamp,
                    refreshToken: Secret(try required(body.string("refresh_token"), "refresh_token")),
                    accessToken: Secret(try required(body.string("access_token"), "access_token")),
                    expiresAt: expiresAt,
                    source: try required(body.string("source"), "source"),
                    kind: try body.string("kind").flatMap(AccountKind.init(rawValue:)),
                    profileARN: try body.string("profile_arn").flatMap { $0.isEmpty ? nil : $0 }))
        case "status":
            record = .status(
                StatusRecord(
                    timestamp: timestamp,
                    state: try required(body.string("state"), "state"),
                    reason: try body.string("reason"),
                    by: StatusActor(rawValue: try body.string("by") ?? StatusActor.operator.rawValue),
                    source: try body.string("source")))
        case "stats":
            record = .stats(
                StatsRecord(
                    timestamp: timestamp,
                    counters: StatsCounters(
                        successes: try body.integer("successes") ?? 0,
                        failures: try body.integer("failures") ?? 0,
                        inputTokens: try body.integer("input_tokens") ?? 0,
                        outputTokens: try body.integer("output_tokens") ?? 0)))
        default:
            let kindName = try body.string("kind") ?? AccountKind.oidc.rawValue
            guard let kind = AccountKind(rawValue: kindName) else {
                throw StateRecordDecodingError(description: "account record with an unknown \"kind\"")
            }
            // A Kiro account has no client registration.
            let needsClient = kind == .oidc
            record = .account(
                AccountRecord(
                    timestamp: timestamp,
                    label: try body.string("label") ?? "",
                    clientID: Secret(needsClient ? try required(body.string("client_id"), "client_id") : ""),
                    clientSecret: Secret(needsClient ? try required(body.string("client_secret"), "client_secret") : ""),
                    refreshToken: Secret(try required(body.string("refresh_token"), "refresh_token")),
                    profileARN: try body.string("profile_arn").flatMap { $0.isEmpty ? nil : $0 },
                    enabled: try body.boolean("enabled") ?? true,
                    weight: try body.integer("weight") ?? 1,
                    region: try body.string("region").flatMap { $0.isEmpty ? nil : $0 },
                    endpoint: try body.string("endpoint").flatMap { $0.isEmpty ? nil : $0 },
                    kind: kind))
        }
        return .record(record)
    }

    /// A record's members, typed: absent and `null` read as `nil`; any other type is an error that names no value.
    private struct Members {
        var object: JSONValue
        var type: String

        func string(_ key: String) throws(StateRecordDecodingError) -> String? {
            try read(key) { $0.stringValue }
        }

        func integer(_ key: String) throws(StateRecordDecodingError) -> Int? {
            try read(key) { $0.intValue }
        }

        func boolean(_ key: String) throws(StateRecordDecodingError) -> Bool? {
            try read(key) { $0.boolValue }
        }

        private func read<T>(_ key: String, _ cast: (JSONValue) -> T?) throws(StateRecordDecodingError) -> T? {
            guard let value = object[key], !value.isNull else { return nil }
            guard let typed = cast(value) else {
                throw StateRecordDecodingError(description: "a \(type) record member has the wrong type")
            }
            return typed
        }
    }
}
