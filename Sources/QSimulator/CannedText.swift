/// The fixed texts the simulator replies with, and how they are cut into events.
enum CannedText {
    /// The `.short` default reply.
    static let shortReply = "Hello! I am the q2api simulator."

    /// The `.realistic` default reply: about 1,250 characters of the kind of answer a chat model gives,
    /// with Markdown, so that demos look real and benchmarks pay a realistic per-event cost.
    static let realisticReply = """
        Great question! Here is a short overview of how a streaming proxy like this one usually works.

        **1. Accepting the request.** The proxy receives a Claude or OpenAI style request, checks the API key, \
        and converts the messages, tools and images into the upstream conversation format. System prompts are \
        folded into the first user turn, because the upstream has no separate field for them.

        **2. Choosing an account.** A pool of accounts is kept warm. Each account has an access token that is \
        refreshed shortly before it expires, and accounts that are throttled or suspended are cooled down so \
        that traffic moves to healthy ones.

        **3. Streaming the answer.** The upstream replies with binary event-stream frames. Each frame is checked, \
        decoded and translated into server-sent events as soon as it arrives, so the client sees the first words \
        within a fraction of a second.

        **4. Handling failures.** Errors before the first byte can be retried on another account; errors in the \
        middle of a stream are reported to the client as a proper error event instead of a silently cut reply.

        In short, the proxy is a translator, a scheduler and a safety net at the same time.

        Let me know if you would like more detail on any of these steps, or an example configuration.
        """

    /// The `thinking` directive's reply, cut so that both tags straddle event boundaries, the case a
    /// thinking-tag splitter most often gets wrong (AMAZON_Q.md §8.2).
    static let thinkingEvents = [
        "<thin", "king>I should", " answer briefly.", "</think", "ing>\n\nThe answer is 42.",
    ]

    private static let lorem =
        "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et "
        + "dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip "
        + "ex ea commodo consequat. Duis aute irure dolor in reprehenderit in voluptate velit esse cillum dolore eu "
        + "fugiat nulla pariatur. Excepteur sint occaecat cupidatat non proident, sunt in culpa qui officia deserunt "
        + "mollit anim id est laborum. "

    /// Exactly `count` characters of lorem ipsum, the same every time.
    static func lorem(count: Int) -> String {
        guard count > 0 else { return "" }
        let repeats = count / lorem.utf8.count + 1
        return String(String(repeating: lorem, count: repeats).utf8.prefix(count))!
    }

    /// `text` cut into pieces of `size` characters (the last may be shorter). Cuts fall between
    /// characters, never inside one, as the service's deltas do.
    static func pieces(_ text: String, size: Int) -> [String] {
        Self.pieces(text, sizes: [size])
    }

    /// `text` cut into pieces whose lengths cycle through `sizes`, for a less regular rhythm.
    static func pieces(_ text: String, sizes: [Int]) -> [String] {
        var pieces: [String] = []
        var rest = Substring(text)
        var index = 0
        while !rest.isEmpty {
            let size = max(sizes[index % sizes.count], 1)
            pieces.append(String(rest.prefix(size)))
            rest = rest.dropFirst(size)
            index += 1
        }
        return pieces
    }
}
