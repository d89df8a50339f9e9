/// One repair of a conversation on its way to Amazon Q: a named step that changes an ``UpstreamDraft`` so the
/// upstream accepts it, where it would otherwise answer "Improperly formed request" for something the client
/// considers valid (AMAZON_Q.md §2.9, §9).
///
/// Passes run in the order of ``UpstreamRequestBuilder/passes``, each once, and a pass may rely on the passes
/// before it (the list says what each relies on). A pass changes the draft only, notes every change in
/// ``UpstreamDraft/repairs`` (`q2api explain` prints them) and never renders JSON: turning the repaired draft into
/// the upstream body is ``UpstreamRequestRenderer``'s job alone.
///
/// ```swift
/// var draft = UpstreamDraft(conversation)
/// try DropTrailingPrefill().apply(to: &draft)
/// ```
package protocol RepairPass: Sendable {
    /// A short, stable name (`merge-consecutive-turns`), for tests and debugging.
    var name: String { get }

    /// Repairs the draft in place.
    ///
    /// - Parameter draft: the conversation as the passes before this one left it.
    /// - Throws: `RequestError` only for what no repair can fix, such as a conversation without a user turn.
    func apply(to draft: inout UpstreamDraft) throws(RequestError)
}
