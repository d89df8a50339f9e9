/// Every dialect q2api speaks. Adding one is its folder under `Dialects/` and a line in ``all``.
package enum Dialects {
    package static let all: [any Dialect] = [
        ClaudeDialect(),
        OpenAIChatDialect(),
        ResponsesDialect(),
    ]

    /// The dialect whose paths include `path`, if any.
    package static func owner(of path: String) -> (any Dialect)? {
        all.first { $0.owns(path) }
    }
}
