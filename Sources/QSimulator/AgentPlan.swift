import ProxyModels

/// The argument of a `plan:` directive: every reply of an agent loop, scripted up front.
///
/// ```text
/// [[sim:plan:{"steps": ["[[sim:tool:Bash:{\"command\":\"ls\"}]]", "[[sim:text:Done.]]"],
///             "when": {"create a detailed summary": "[[sim:text:The summary.]]"}}]]
/// ```
///
/// `steps[N]` holds the directives of the N-th reply after the plan's own user message. `when` maps a
/// text to directives: a later request whose current message contains that text gets them instead of its
/// step (in the order given; the first match wins), for requests the client makes by itself at a point
/// the test cannot predict, such as a summary request when it compacts its context.
struct AgentPlan: Sendable, Equatable {
    struct Rule: Sendable, Equatable {
        var needle: String
        var directives: String
    }

    struct Problem: Error, Equatable {
        var reason: String
    }

    var steps: [String]
    var when: [Rule] = []

    static func parse(_ argument: String?) -> Result<AgentPlan, Problem> {
        guard let argument, let plan = try? JSONParser.parse(Array(argument.utf8)), case .object = plan else {
            return .failure(Problem(reason: "its argument is not a JSON object"))
        }
        guard let steps = plan["steps"]?.arrayValue else {
            return .failure(Problem(reason: "it has no \"steps\" array"))
        }
        var texts: [String] = []
        for step in steps {
            guard let text = step.stringValue else {
                return .failure(Problem(reason: "step \(texts.count) is not a string"))
            }
            texts.append(text)
        }
        var rules: [Rule] = []
        if let when = plan["when"] {
            guard let members = when.objectValue else { return .failure(Problem(reason: "\"when\" is not an object")) }
            for member in members {
                guard let directives = member.value.stringValue else {
                    return .failure(Problem(reason: "\"when\" rule '\(member.key)' is not a string"))
                }
                rules.append(Rule(needle: member.key, directives: directives))
            }
        }
        return .success(AgentPlan(steps: texts, when: rules))
    }

    /// What a plan scripts for a request whose messages are `history` and then `current`, if anything.
    ///
    /// The plan is the last one in the most recent user message that carries one (the current message
    /// included); the step's index is the number of assistant messages after that message, i.e. the
    /// replies the plan has scripted so far. Messages before the plan's (the system prompt's leading pair,
    /// earlier turns) do not count, and text folded into the plan's own user turn does not either. `when`
    /// rules apply only to requests after the plan's own. `nil` without a plan, and once every step was
    /// played and no rule matched, so that the reply falls back to the default one. A plan that does not
    /// parse is answered with a text that says why.
    static func step(
        history: [AssistantRequest.PriorMessage], current: AssistantRequest.PriorMessage
    ) -> (index: Int, directives: [Directive])? {
        let messages = history + [current]
        var found: (position: Int, plan: Directive)?
        for (position, message) in messages.enumerated().reversed() where message.role == .user {
            if let plan = Directive.scan(message.text).last(where: { $0.name == "plan" }) {
                found = (position, plan)
                break
            }
        }
        guard let found else { return nil }
        let index = messages[(found.position + 1)...].count { $0.role == .assistant }
        switch Self.parse(found.plan.argument) {
        case .success(let plan):
            if found.position < messages.count - 1, let rule = plan.when.first(where: { current.text.contains($0.needle) }) {
                return (index, Directive.scan(rule.directives))
            }
            guard index < plan.steps.count else { return nil }
            return (index, Directive.scan(plan.steps[index]))
        case .failure(let problem):
            return (index, [Directive(name: "text", argument: "q2api simulate: the plan is invalid: \(problem.reason)")])
        }
    }
}
