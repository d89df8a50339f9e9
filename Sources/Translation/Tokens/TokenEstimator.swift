import ProxyModels

/// Estimates token counts without a tokenizer.
///
/// The upstream reports no usage in most replies, and Claude's tokenizer is not public.
/// The estimate is calibrated against Claude's published behaviour: about 4 characters of
/// English or code per token, one token per CJK character, and images at width×height/750
/// (capped at 1,600, Claude's figure for a 1.15-megapixel image). The README documents this.
package enum TokenEstimator {
    /// Tokens for a piece of text.
    package static func tokens(in text: String) -> Int {
        var asciiBytes = 0
        var wide = 0
        var otherScalars = 0
        for scalar in text.unicodeScalars {
            let value = scalar.value
            if value < 0x80 {
                asciiBytes += 1
            } else if (0x2E80...0x9FFF).contains(value) || (0xAC00...0xD7AF).contains(value) || (0xF900...0xFAFF).contains(value)
                || (0x3040...0x30FF).contains(value) || (0x20000...0x2FFFF).contains(value)
            {
                wide += 1
            } else {
                otherScalars += 1
            }
        }
        let estimate = Double(asciiBytes) / 4.0 + Double(wide) + Double(otherScalars) / 2.0
        return Int(estimate.rounded(.up))
    }

    /// Tokens for an image, from its pixel size when the header can be read.
    package static func tokens(for image: Conversation.Image) -> Int {
        guard let (width, height) = ImageSize.dimensions(base64: image.base64) else { return 1600 }
        return max(1, min(1600, width * height / 750))
    }

    /// Input tokens of a whole conversation: system, messages, tools; the same figure is used by
    /// `count_tokens`, `message_start` and the context-length pre-check.
    package static func inputTokens(of conversation: Conversation) -> Int {
        var total = tokens(in: conversation.system)
        for message in conversation.messages {
            total += 3
            for block in message.content {
                switch block {
                case .text(let text), .thinking(let text), .instruction(let text): total += tokens(in: text)
                case .toolChange(let change): total += tokens(in: change.note)
                case .image(let image): total += tokens(for: image)
                case .toolUse(let use): total += tokens(in: use.name) + tokens(in: use.input.jsonString)
                case .toolResult(let result):
                    for part in result.content {
                        switch part {
                        case .text(let text): total += tokens(in: text)
                        case .json(let json): total += tokens(in: json.jsonString)
                        case .image(let image): total += tokens(for: image)
                        case .toolReference(let name): total += tokens(in: name) + 2
                        }
                    }
                }
            }
        }
        for tool in conversation.tools where !tool.deferLoading || conversation.toolSearch {
            total += tokens(in: tool.name) + tokens(in: tool.description) + tokens(in: tool.inputSchema.jsonString)
        }
        return max(1, total)
    }
}

/// Reads the pixel size from the first bytes of a base64 PNG, GIF or JPEG (WebP: VP8X/VP8/VP8L).
enum ImageSize {
    static func dimensions(base64: String) -> (Int, Int)? {
        // 64 KiB of base64 covers the JPEG SOF marker in practice; PNG and GIF need 32 bytes.
        guard let bytes = decodePrefix(base64, maxCharacters: 65536) else { return nil }
        if bytes.count >= 24, bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]) {
            return (be32(bytes, 16), be32(bytes, 20))
        }
        if bytes.count >= 10, bytes.starts(with: Array("GIF".utf8)) {
            return (Int(bytes[6]) | Int(bytes[7]) << 8, Int(bytes[8]) | Int(bytes[9]) << 8)
        }
        if bytes.count >= 4, bytes[0] == 0xFF, bytes[1] == 0xD8 {
            var index = 2
            while index + 9 < bytes.count {
                guard bytes[index] == 0xFF else { return nil }
                let marker = bytes[index + 1]
                let length = Int(bytes[index + 2]) << 8 | Int(bytes[index + 3])
                if (0xC0...0xCF).contains(marker), marker != 0xC4, marker != 0xC8, marker != 0xCC {
                    return (Int(bytes[index + 7]) << 8 | Int(bytes[index + 8]), Int(bytes[index + 5]) << 8 | Int(bytes[index + 6]))
                }
                index += 2 + length
            }
            return nil
        }
        if bytes.count >= 30, bytes.starts(with: Array("RIFF".utf8)), Array(bytes[8..<12]) == Array("WEBP".utf8) {
            let chunk = String(decoding: bytes[12..<16], as: UTF8.self)
            switch chunk {
            case "VP8X": return (1 + le24(bytes, 24), 1 + le24(bytes, 27))
            case "VP8 ": return (Int(bytes[26]) | Int(bytes[27] & 0x3F) << 8, Int(bytes[28]) | Int(bytes[29] & 0x3F) << 8)
            case "VP8L":
                let bits = UInt32(bytes[21]) | UInt32(bytes[22]) << 8 | UInt32(bytes[23]) << 16 | UInt32(bytes[24]) << 24
                return (Int(bits & 0x3FFF) + 1, Int((bits >> 14) & 0x3FFF) + 1)
            default: return nil
            }
        }
        return nil
    }

    static func be32(_ bytes: [UInt8], _ at: Int) -> Int {
        Int(bytes[at]) << 24 | Int(bytes[at + 1]) << 16 | Int(bytes[at + 2]) << 8 | Int(bytes[at + 3])
    }

    static func le24(_ bytes: [UInt8], _ at: Int) -> Int {
        Int(bytes[at]) | Int(bytes[at + 1]) << 8 | Int(bytes[at + 2]) << 16
    }

    static func decodePrefix(_ base64: String, maxCharacters: Int) -> [UInt8]? {
        var output: [UInt8] = []
        var accumulator: UInt32 = 0
        var bits = 0
        var seen = 0
        for byte in base64.utf8 {
            if seen >= maxCharacters { break }
            seen += 1
            let value: UInt32
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): value = UInt32(byte - UInt8(ascii: "A"))
            case UInt8(ascii: "a")...UInt8(ascii: "z"): value = UInt32(byte - UInt8(ascii: "a") + 26)
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = UInt32(byte - UInt8(ascii: "0") + 52)
            case UInt8(ascii: "+"): value = 62
            case UInt8(ascii: "/"): value = 63
            case UInt8(ascii: "="): return output
            case UInt8(ascii: "\n"), UInt8(ascii: "\r"): continue
            default: return nil
            }
            accumulator = accumulator << 6 | value
            bits += 6
            if bits >= 8 {
                bits -= 8
                output.append(UInt8((accumulator >> UInt32(bits)) & 0xFF))
            }
        }
        return output
    }
}
