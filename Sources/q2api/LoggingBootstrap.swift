import Foundation
import Logging
import ProxyModels

/// Sets up the process-wide log handler once: text to stderr, or one JSON object per line.
enum LoggingBootstrap {
    static func bootstrap(level: String, format: String) {
        let level = Logger.Level(rawValue: level) ?? .info
        LoggingSystem.bootstrap { label in
            var handler: any LogHandler = format == "json" ? JSONLogHandler(label: label) : StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}

/// One JSON object per line on stderr, for log shippers.
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        // `ts`, `level`, `msg`, `logger` first, then the metadata by key: the same JSON writer as every reply and
        // state record.
        var members: [JSONMember] = [
            JSONMember("ts", .string(Date().formatted(.iso8601))), JSONMember("level", .string(event.level.rawValue)),
            JSONMember("msg", .string("\(event.message)")), JSONMember("logger", .string(label)),
        ]
        let fixed = Set(members.map(\.key))
        let merged = metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 })
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) {
            if fixed.contains(key) {
                members.removeAll { $0.key == key }
            }
            members.append(JSONMember(key, .string("\(value)")))
        }
        var line: [UInt8] = []
        JSONWriter.write(.object(members), into: &line)
        line.append(UInt8(ascii: "\n"))
        FileHandle.standardError.write(Data(line))
    }
}
