import ProxyModels

/// One request in neutral form: what the client asked for, independent of its dialect.
///
/// The Claude and OpenAI decoders both produce this; the upstream payload builder and the
/// stream translators only ever see this, so a third dialect touches only a new decoder
/// and encoder.
package struct Conversation: Sendable, Equatable {
    /// The model name exactly as the client sent it (echoed back in replies).
    package var model: String
    /// System instructions, already joined into one text ("" when none).
    package var system: String
    package var messages: [Message]
    package var tools: [Tool]
    package var toolChoice: ToolChoice
    package var maxTokens: Int?
    package var stopSequences: [String]
    package var thinking: Thinking?
    package var stream: Bool
    /// A key that identifies the client's session, for account affinity (for example `metadata.user_id`).
    package var sessionKey: String?
    /// Extra instruction appended to the user turn (OpenAI `response_format`, named `tool_choice`).
    package var extraInstructions: [String]
    /// How the client wants thinking shown (Claude `thinking.display`); omitted thinking still gets its signed block.
    package var thinkingDisplay: ThinkingDisplay = .summarized
    /// Claude `output_config.effort`: sets the thinking budget of adaptive thinking.
    package var effort: Effort?
    /// A JSON schema the reply must follow (Claude `output_config.format`, `output_format`; OpenAI `response_format`).
    package var responseSchema: JSONValue?
    /// A tool-search tool was declared: the upstream cannot run it, so every deferred tool is offered directly.
    package var toolSearch = false
    /// Claude `context_management.edits`, applied to the history before it goes upstream.
    package var contextEdits: [ContextEdit] = []
    /// Request fields that only tune how the original API serves a request, accepted and ignored (logged once).
    package var ignoredFields: [String] = []
    /// `redacted_thinking` blocks left out of the history: only Anthropic's models can read them.
    package var droppedRedactedThinking = 0

    package init(
        model: String, system: String = "", messages: [Message], tools: [Tool] = [], toolChoice: ToolChoice = .auto,
        maxTokens: Int? = nil, stopSequences: [String] = [], thinking: Thinking? = nil, stream: Bool = false,
        sessionKey: String? = nil, extraInstructions: [String] = []
    ) {
        self.model = model
        self.system = system
        self.messages = messages
        self.tools = tools
        self.toolChoice = toolChoice
        self.maxTokens = maxTokens
        self.stopSequences = stopSequences
        self.thinking = thinking
        self.stream = stream
        self.sessionKey = sessionKey
        self.extraInstructions = extraInstructions
    }

    package enum Role: String, Sendable, Equatable {
        case user
        case assistant
        /// A system-role message inside `messages` (Claude Code 2.1 sends them): instructions at that point of the
        /// conversation. The upstream has no such role; the payload builder folds it into the adjacent user turn.
        case system
    }

    package enum ThinkingDisplay: String, Sendable, Equatable {
        case summarized
        /// Thinking blocks come back empty, with their signature (Claude `display: omitted`).
        case omitted
    }

    package enum Effort: String, Sendable, Equatable, CaseIterable {
        case low, medium, high, xhigh, max

        /// The thinking budget this effort stands for when thinking is adaptive.
        package var thinkingBudget: Int {
            switch self {
            case .low: 4_000
            case .medium: 10_000
            case .high: 16_000
            case .xhigh: 24_000
            case .max: 32_000
            }
        }
    }

    /// One `context_management` edit, as the Claude API defines it.
    package enum ContextEdit: Sendable, Equatable {
        /// `clear_thinking_*`: drop thinking from all but the last `keepTurns` assistant turns (`nil`: keep all).
        case clearThinking(type: String, keepTurns: Int?)
        /// `clear_tool_uses_*`: once the input is over `triggerTokens` (or holds more than `triggerToolUses` tool uses),
        /// replace the results of all but the last `keep` tool uses with a placeholder (and their inputs too when
        /// `clearInputs`), sparing `excludeTools`.
        case clearToolUses(ClearToolUses)
    }

    package struct ClearToolUses: Sendable, Equatable {
        package var type: String
        package var triggerTokens: Int? = 100_000
        package var triggerToolUses: Int?
        package var keep = 3
        package var clearAtLeastTokens = 0
        package var excludeTools: [String] = []
        package var clearInputs = false
        /// `clear_tool_inputs` as a list: only these tools' inputs are cleared (`nil`: every cleared use's).
        package var clearInputsOf: Set<String>?

        package init(type: String) { self.type = type }
    }

    package struct Message: Sendable, Equatable {
        package var role: Role
        package var content: [ContentBlock]

        package init(role: Role, content: [ContentBlock]) {
            self.role = role
            self.content = content
        }
    }

    package enum ContentBlock: Sendable, Equatable {
        case text(String)
        case image(Image)
        case toolUse(ToolUse)
        case toolResult(ToolResult)
        /// Reasoning from an earlier turn; replayed to the upstream as tagged text.
        case thinking(String)
        /// The text of a system-role message once folded into a user turn (payload builder only).
        case instruction(String)
        /// Claude `tool_addition` / `tool_removal`: from this point on, a tool is offered or no longer offered.
        case toolChange(ToolChange)
    }

    package struct ToolChange: Sendable, Equatable {
        package var name: String
        package var added: Bool
        /// An inline definition (`tool_definition`); `nil` refers to a tool of ``Conversation/tools``.
        package var definition: Tool?

        package init(name: String, added: Bool, definition: Tool? = nil) {
            self.name = name
            self.added = added
            self.definition = definition
        }

        /// What the model reads at the point of the change.
        package var note: String { added ? "[The tool \(name) is available from here on.]" : "[The tool \(name) is no longer available.]" }
    }

    package struct Image: Sendable, Equatable {
        /// One of the upstream's formats: `png`, `jpeg`, `gif`, `webp`.
        package var format: String
        /// Base64 data, passed through unchanged.
        package var base64: String

        package init(format: String, base64: String) {
            self.format = format
            self.base64 = base64
        }
    }

    package struct ToolUse: Sendable, Equatable {
        package var id: String
        package var name: String
        package var input: JSONValue

        package init(id: String, name: String, input: JSONValue) {
            self.id = id
            self.name = name
            self.input = input
        }
    }

    package struct ToolResult: Sendable, Equatable {
        package var toolUseID: String
        package var content: [ToolResultPart]
        package var isError: Bool

        package init(toolUseID: String, content: [ToolResultPart], isError: Bool) {
            self.toolUseID = toolUseID
            self.content = content
            self.isError = isError
        }
    }

    package enum ToolResultPart: Sendable, Equatable {
        case text(String)
        case json(JSONValue)
        case image(Image)
        /// Claude `tool_reference`: the result makes the named deferred tool available.
        case toolReference(String)
    }

    package struct Tool: Sendable, Equatable {
        package var name: String
        package var description: String
        package var inputSchema: JSONValue
        /// Claude `defer_loading`: kept out of the upstream tool list until a `tool_reference` loads it.
        package var deferLoading: Bool

        package init(name: String, description: String, inputSchema: JSONValue, deferLoading: Bool = false) {
            self.name = name
            self.description = description
            self.inputSchema = inputSchema
            self.deferLoading = deferLoading
        }
    }

    package enum ToolChoice: Sendable, Equatable {
        case auto
        case none
        /// The model must call some tool.
        case any
        case named(String)
    }

    package enum Thinking: Sendable, Equatable {
        case enabled(budgetTokens: Int)
        case adaptive
    }
}

extension Conversation.Message {
    /// The text blocks of the message joined with newlines.
    package var text: String {
        content.compactMap { if case .text(let text) = $0 { text } else { nil } }.joined(separator: "\n")
    }
}
