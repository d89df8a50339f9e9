import EventStream
import Foundation
import NIOCore
import Testing

/// One of the binary response bodies in `Samples/` with its `.frames.json` oracle (see the samples README).
struct Sample: Sendable, CustomStringConvertible {
    struct Frame: Sendable {
        var offset: Int
        var totalLength: Int
        var headersLength: Int
        var payloadLength: Int
        var preludeCRC: UInt32
        var messageCRC: UInt32
        /// In wire order. The JSON object does not keep order, so it is rebuilt from the order the samples
        /// README documents: `:event-type` or `:exception-type`, then `:content-type`, then `:message-type`.
        var headers: [(name: String, value: String)]
        /// The payload re-serialised with sorted keys, so that two equal JSON values compare equal as bytes.
        var normalizedPayload: Data
    }

    static let names = ["text_stream", "tool_use_stream", "exception_stream"]

    var name: String
    var bytes: [UInt8]
    var frames: [Frame]

    var description: String { self.name }

    static func load(_ name: String) throws -> Sample {
        let bin = try #require(Bundle.module.url(forResource: name, withExtension: "bin", subdirectory: "Samples"))
        let json = try #require(
            Bundle.module.url(forResource: name + ".frames", withExtension: "json", subdirectory: "Samples")
        )
        let root = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: json)) as? [String: Any])
        let frames = try #require(root["frames"] as? [[String: Any]])
        return Sample(
            name: name,
            bytes: Array(try Data(contentsOf: bin)),
            frames: try frames.map(Self.frame(from:))
        )
    }

    static func loadAll() throws -> [Sample] {
        try Self.names.map(Self.load)
    }

    private static func frame(from object: [String: Any]) throws -> Frame {
        func int(_ key: String) throws -> Int { try #require(object[key] as? Int, "\(key)") }
        func crc(_ key: String) throws -> UInt32 {
            let text = try #require(object[key] as? String, "\(key)")
            return try #require(UInt32(text.dropFirst(2), radix: 16), "\(key)")
        }
        let headers = try #require(object["headers"] as? [String: String])
        let first = headers[":event-type"] != nil ? ":event-type" : ":exception-type"
        let order = [first, ":content-type", ":message-type"]
        #expect(Set(order) == Set(headers.keys), "unexpected header names \(headers.keys.sorted())")
        return Frame(
            offset: try int("offset"),
            totalLength: try int("total_length"),
            headersLength: try int("headers_length"),
            payloadLength: try int("payload_length"),
            preludeCRC: try crc("prelude_crc"),
            messageCRC: try crc("message_crc"),
            headers: try order.map { name in (name, try #require(headers[name])) },
            normalizedPayload: try normalizedJSON(try #require(object["payload"]))
        )
    }
}

/// Re-serialises a JSON value with sorted keys.
func normalizedJSON(_ object: Any) throws -> Data {
    try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
}

/// Parses a payload as JSON and re-serialises it with sorted keys.
func normalizedJSON(payload: ByteBuffer) throws -> Data {
    try normalizedJSON(try JSONSerialization.jsonObject(with: Data(payload.readableBytesView)))
}
