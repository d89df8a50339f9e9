import HTTPTypes
import Hummingbird

/// Header names the simulator reads or writes.
enum SimulatorHeader {
    static let target = HTTPField.Name("x-amz-target")!
    static let requestID = HTTPField.Name("x-amzn-requestid")!
    static let amzUserAgent = HTTPField.Name("x-amz-user-agent")!
    /// Names the validation rule a request broke. The real service never says; the simulator does so
    /// that a failing test points at the cause.
    static let violation = HTTPField.Name("x-q2sim-violation")!

    /// The operation the Q endpoint serves.
    static let generateAssistantResponse = "AmazonCodeWhispererStreamingService.GenerateAssistantResponse"

    /// `text` made safe for a header value: printable ASCII only, at most 300 characters, because
    /// violations can quote client-supplied names.
    static func sanitized(_ text: String) -> String {
        let scalars = text.unicodeScalars.prefix(300).map { scalar -> Character in
            (0x20..<0x7F).contains(scalar.value) ? Character(scalar) : "?"
        }
        return String(scalars)
    }
}
