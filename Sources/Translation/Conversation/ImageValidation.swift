import ProxyModels

extension Conversation.Image {
    /// Images the upstream accepts, by media type.
    static let formats = ["image/png": "png", "image/jpeg": "jpeg", "image/jpg": "jpeg", "image/gif": "gif", "image/webp": "webp"]
    /// The upstream's per-image limit (AMAZON_Q.md §2.8).
    package static let maximumBytes = 10 * 1024 * 1024

    /// An inline image checked against what the upstream accepts, whatever dialect it came in;
    /// errors name `mediaTypePath` or `dataPath`.
    static func validated(mediaType: String, base64 data: String, mediaTypePath: String, dataPath: String) throws(RequestError) -> Self {
        guard let format = formats[mediaType.lowercased()] else {
            throw .invalid(
                mediaTypePath, "unsupported image type \"\(mediaType)\"; the upstream accepts image/png, image/jpeg, image/gif and image/webp")
        }
        guard !data.isEmpty else { throw .invalid(dataPath, "the image data is empty") }
        if data.utf8.count / 4 * 3 > maximumBytes {
            throw .invalid(dataPath, "image is larger than the upstream's limit of 10 MiB")
        }
        guard isPlausibleBase64(data) else { throw .invalid(dataPath, "is not valid base64") }
        return .init(format: format, base64: data)
    }

    /// A cheap check (alphabet and padding) so that garbage is a 400 here rather than an upstream rejection.
    static func isPlausibleBase64(_ data: String) -> Bool {
        var count = 0
        for byte in data.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "+"), UInt8(ascii: "/"), UInt8(ascii: "="):
                count += 1
            case UInt8(ascii: "\n"), UInt8(ascii: "\r"): continue
            default: return false
            }
        }
        return count % 4 == 0
    }
}
