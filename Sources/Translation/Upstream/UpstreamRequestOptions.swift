/// What the payload builder needs besides the conversation.
///
/// The account's profile ARN is not among them: the plan is made before an account is chosen, and
/// ``UpstreamRequestPlan/body(profileARN:)`` fills it in for the account that sends it.
package struct UpstreamRequestOptions {
    /// The upstream model id (already resolved from the client's name).
    package var modelID: String
    /// Estimated input tokens above this are refused with Claude's "prompt is too long" wording.
    package var maximumInputTokens: Int
    /// The text of `{{time}}` (injected so golden files are stable).
    package var currentTime: String
    /// A fresh UUID per call (injected so golden files are stable).
    package var makeID: () -> String

    package init(modelID: String, maximumInputTokens: Int = 200_000, currentTime: String, makeID: @escaping () -> String) {
        self.modelID = modelID
        self.maximumInputTokens = maximumInputTokens
        self.currentTime = currentTime
        self.makeID = makeID
    }
}
