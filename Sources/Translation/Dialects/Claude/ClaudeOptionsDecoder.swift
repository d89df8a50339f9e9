import ProxyModels

/// `thinking`, `output_config`, `output_format` and `context_management` of a Claude request.
enum ClaudeOptionsDecoder {
    static func decodeThinking(_ value: JSONValue?) throws(RequestError) -> (Conversation.Thinking?, Conversation.ThinkingDisplay) {
        guard let value, !value.isNull else { return (nil, .summarized) }
        guard case .object = value, let type = value["type"]?.stringValue else {
            throw .invalid("thinking", "must be an object with a type")
        }
        var display = Conversation.ThinkingDisplay.summarized
        if let raw = value["display"], !raw.isNull {
            // `updates` and `highlights` (betas Claude Code uses) show thinking in part; full thinking is the closest q2api can give.
            guard let name = raw.stringValue,
                let parsed = ["updates", "highlights"].contains(name) ? .summarized : Conversation.ThinkingDisplay(rawValue: name)
            else {
                throw .invalid("thinking.display", "must be one of summarized, omitted, updates, highlights")
            }
            display = parsed
        }
        switch type {
        case "enabled":
            guard let budget = value["budget_tokens"]?.intValue else { throw .invalid("thinking.budget_tokens", "field required") }
            guard budget >= 1024 else { throw .invalid("thinking.budget_tokens", "must be >= 1024") }
            return (.enabled(budgetTokens: budget), display)
        case "adaptive", "between_tools": return (.adaptive, display)
        case "disabled": return (nil, display)
        default: throw .invalid("thinking.type", "must be one of enabled, adaptive, between_tools, disabled")
        }
    }

    static func decodeOutputConfig(_ value: JSONValue?, path: String) throws(RequestError) -> (effort: Conversation.Effort?, schema: JSONValue?) {
        guard let value, !value.isNull else { return (nil, nil) }
        guard case .object = value else { throw .invalid(path, "must be an object") }
        var effort: Conversation.Effort?
        if let raw = value["effort"], !raw.isNull {
            guard let name = raw.stringValue, let parsed = Conversation.Effort(rawValue: name) else {
                throw .invalid("\(path).effort", "must be one of \(Conversation.Effort.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            effort = parsed
        }
        return (effort, try decodeFormat(value["format"], path: "\(path).format"))
    }

    /// A `json_schema` output format: the schema, which must be an object.
    static func decodeFormat(_ value: JSONValue?, path: String) throws(RequestError) -> JSONValue? {
        guard let value, !value.isNull else { return nil }
        guard case .object = value, let type = value["type"]?.stringValue else { throw .invalid(path, "must be an object with a type") }
        guard type == "json_schema" else { throw .invalid("\(path).type", "must be json_schema") }
        guard let schema = value["schema"], case .object = schema else { throw .invalid("\(path).schema", "must be a JSON schema object") }
        if let problem = StructuredOutput.schemaProblem(schema, path: "\(path).schema") { throw .invalid(problem.field, problem.message) }
        return schema
    }

    static func decodeContextManagement(_ value: JSONValue?) throws(RequestError) -> [Conversation.ContextEdit] {
        guard let value, !value.isNull else { return [] }
        guard case .object = value else { throw .invalid("context_management", "must be an object") }
        var edits: [Conversation.ContextEdit] = []
        for (path, edit) in try RequestFields.objects(value["edits"], path: "context_management.edits") {
            guard let type = edit["type"]?.stringValue else { throw .invalid("\(path).type", "field required") }
            if type.hasPrefix("clear_thinking_") {
                var keepTurns: Int? = 1
                switch edit["keep"] {
                case nil, .null?: break
                case .string("all")?: keepTurns = nil
                case let keep?:
                    if keep["type"]?.stringValue == "all" {
                        keepTurns = nil
                    } else if keep["type"]?.stringValue == "thinking_turns", let turns = keep["value"]?.intValue, turns >= 0 {
                        keepTurns = turns
                    } else {
                        throw .invalid("\(path).keep", "must be \"all\" or {type: thinking_turns, value: N}")
                    }
                }
                edits.append(.clearThinking(type: type, keepTurns: keepTurns))
            } else if type.hasPrefix("clear_tool_uses_") {
                var clear = Conversation.ClearToolUses(type: type)
                if let trigger = edit["trigger"], !trigger.isNull {
                    guard let amount = trigger["value"]?.intValue, amount >= 0 else { throw .invalid("\(path).trigger.value", "must be an integer") }
                    switch trigger["type"]?.stringValue {
                    case "input_tokens": clear.triggerTokens = amount
                    case "tool_uses":
                        clear.triggerTokens = nil
                        clear.triggerToolUses = amount
                    default: throw .invalid("\(path).trigger.type", "must be input_tokens or tool_uses")
                    }
                }
                if let keep = edit["keep"], !keep.isNull {
                    guard let amount = keep["value"]?.intValue, amount >= 0 else { throw .invalid("\(path).keep.value", "must be an integer") }
                    clear.keep = amount
                }
                if let least = edit["clear_at_least"], !least.isNull {
                    guard let amount = least["value"]?.intValue, amount >= 0 else {
                        throw .invalid("\(path).clear_at_least.value", "must be an integer")
                    }
                    clear.clearAtLeastTokens = amount
                }
                clear.excludeTools = (edit["exclude_tools"]?.arrayValue ?? []).compactMap(\.stringValue)
                switch edit["clear_tool_inputs"] {
                case .bool(let flag)?: clear.clearInputs = flag
                case .array(let names)?:
                    clear.clearInputs = !names.isEmpty
                    clear.clearInputsOf = Set(names.compactMap(\.stringValue))
                default: break
                }
                edits.append(.clearToolUses(clear))
            } else {
                throw .invalid(
                    "\(path).type",
                    "the context edit \"\(type)\" is not supported: q2api applies clear_thinking_* and clear_tool_uses_* edits; "
                        + "server-side compaction is not available with Amazon Q")
            }
        }
        return edits
    }
}
