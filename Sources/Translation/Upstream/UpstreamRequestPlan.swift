import ProxyModels

/// The upstream request a conversation became, with what was changed on the way.
package struct UpstreamRequestPlan: Sendable {
    /// Human-readable notes of every repair applied (`q2api explain` prints them; debug logs count them).
    package var repairs: [String]
    package var toolNames: ToolNameMap
    package var inputTokens: Int
    /// Whether the reply's `<thinking>` text is to be split into thinking blocks.
    package var thinkingRequested: Bool
    /// Claude `context_management.applied_edits`: what `ContextEditor` cleared from the history.
    package var appliedEdits: [JSONValue] = []
    /// The upstream model id the body names.
    package var modelID = ""
    /// The template the plan was rendered with; its `request` section is rendered per account.
    package let template: RequestTemplate
    /// The values of the `request` section except the account's: the conversation id, the rendered history and
    /// current message, the model id.
    let envelope: [String: JSONValue?]

    /// The body as sent for an OIDC account without a profile ARN (and shown by `q2api explain`).
    package var body: JSONValue { body(profileARN: nil) }

    /// ``body(profileARN:origin:)`` for an OIDC account: the origin the template gives `oidc`.
    package func body(profileARN: String?) -> JSONValue {
        body(profileARN: profileARN, origin: template.origin(forKind: RequestTemplate.defaultKind))
    }

    /// The body for the account that sends it: the template's `request` section rendered with the account's
    /// profile ARN as `{{profile_arn}}` and its kind's origin as `{{origin}}`.
    ///
    /// The plan is made before an account is chosen, so that a request the upstream would refuse is refused
    /// before any account is touched, and a failover sends the same plan from another account. Everything but the
    /// ARN is therefore rendered once, when planning: the history and the current message are finished JSON
    /// values, and only the small `request` section that places them is rendered again per account. The ARN thus
    /// goes through the template like every other value: the template decides where it goes, or whether it is
    /// sent at all, and an absent or empty ARN (an account outside an organisation) leaves its member out, as
    /// every absent value does.
    ///
    /// The origin is also in every user message, history included. Those were rendered with the default kind's
    /// origin (an OIDC account sends them as they are); for another origin only the template's `"{{origin}}"`
    /// members of each user message are replaced, at the key paths the template compiled, so the history is not
    /// rendered again.
    ///
    /// ```swift
    /// let bytes = plan.body(profileARN: arn, origin: template.origin(forKind: "kiro")).jsonBytes
    /// ```
    ///
    /// - Parameters:
    ///   - profileARN: the account's profile ARN (IAM Identity Center and Kiro accounts); `nil` for none.
    ///   - origin: the account kind's `origin` (``RequestTemplate/origin(forKind:)``); `nil` leaves it out.
    /// - Returns: the `GenerateAssistantResponse` body.
    package func body(profileARN: String?, origin: String?) -> JSONValue {
        var values = envelope
        values["profile_arn"] = .some(profileARN.flatMap { $0.isEmpty ? nil : .string($0) })
        values["origin"] = .some(origin.map(JSONValue.string))
        if origin != template.planningOrigin, !template.userMessageOriginPaths.isEmpty {
            if case .array(let turns)?? = envelope["history"] {
                values["history"] = .array(
                    turns.map { turn in
                        guard let message = turn["userInputMessage"] else { return turn }
                        return turn.setting("userInputMessage", to: template.userMessage(message, origin: origin))
                    })
            }
            if case let current?? = envelope["current_message"] {
                values["current_message"] = .some(template.userMessage(current, origin: origin))
            }
        }
        return template.render(.request, values)
    }
}
