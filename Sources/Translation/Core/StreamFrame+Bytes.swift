import ProxyModels
import SSE

extension StreamFrame {
    /// The frame as server-sent-event bytes.
    package func write(into bytes: inout [UInt8]) {
        switch self {
        case .event(let name, let data):
            if let name { ServerSentEvent.writeEventLine(name, into: &bytes) }
            var json: [UInt8] = []
            JSONWriter.write(data, into: &json)
            ServerSentEvent.writeData(json, into: &bytes)
        case .data(let text): ServerSentEvent.write(event: nil, data: Array(text.utf8), into: &bytes)
        case .comment(let text): ServerSentEvent.writeComment(text, into: &bytes)
        }
    }
}

/// A stream frame that is the same for every event of its kind but for a string (a delta's text) and, for some
/// dialects, a number (a sequence number): rendered once, with markers in those places, and then written by copying
/// its fixed bytes around the escaped string.
///
/// Text deltas are nearly every frame of a reply. Building, writing and freeing a JSON value tree for each cost about
/// 8 allocations and most of the per-event time; this writes the same bytes with none. The template comes from the
/// dialect's own frame (built with ``string`` and ``number`` in place of the values), so the two can never disagree;
/// the stream encoder tests hold every fast path equal to the frame it replaces.
package struct FrameTemplate: Sendable {
    package enum Hole: Sendable, Equatable {
        /// The inside of a JSON string (its quotes are in the fixed bytes).
        case string
        /// A JSON number.
        case number
    }

    /// The fixed bytes before, between and after the holes (one more than the holes).
    private let pieces: [[UInt8]]
    package let holes: [Hole]

    /// Put this text where the template's string goes.
    package static let stringMarker = "\u{E000}q2api:string\u{E000}"
    /// Put this value where the template's number goes.
    package static let numberMarker = JSONValue.number(numberMarkerText)

    private static let numberMarkerText = "\u{E000}q2api:number\u{E000}"

    /// - Parameter frame: the frame with ``stringMarker`` (and ``numberMarker``) as the values that vary; a JSON frame whose markers
    ///   the SSE framing leaves whole (always: JSON escapes line breaks).
    package init(_ frame: StreamFrame) {
        var bytes: [UInt8] = []
        frame.write(into: &bytes)
        let markers: [(bytes: [UInt8], hole: Hole)] = [(Array(Self.stringMarker.utf8), .string), (Array(Self.numberMarkerText.utf8), .number)]
        var pieces: [[UInt8]] = []
        var holes: [Hole] = []
        var start = 0
        var index = 0
        while index < bytes.count {
            if let marker = markers.first(where: { bytes[index...].starts(with: $0.bytes) }) {
                pieces.append(Array(bytes[start..<index]))
                holes.append(marker.hole)
                index += marker.bytes.count
                start = index
            } else {
                index += 1
            }
        }
        pieces.append(Array(bytes[start...]))
        self.pieces = pieces
        self.holes = holes
    }

    /// Writes the frame with `string` in its one string hole.
    package func write(string: String, into bytes: inout [UInt8]) {
        precondition(holes == [.string], "a template with holes \(holes) needs other values")
        bytes.append(contentsOf: pieces[0])
        JSONWriter.writeStringContents(string, into: &bytes)
        bytes.append(contentsOf: pieces[1])
    }

    /// Writes the frame with `number` in its number hole and `string` in its string hole, in that order.
    package func write(number: Int, string: String, into bytes: inout [UInt8]) {
        precondition(holes == [.number, .string], "a template with holes \(holes) needs other values")
        bytes.append(contentsOf: pieces[0])
        bytes.append(contentsOf: String(number).utf8)
        bytes.append(contentsOf: pieces[1])
        JSONWriter.writeStringContents(string, into: &bytes)
        bytes.append(contentsOf: pieces[2])
    }
}
