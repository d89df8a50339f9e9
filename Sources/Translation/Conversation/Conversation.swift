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
        package var toolUseId: String
        package var content: [ToolResultPart]
        package var isError: Bool

        package init(toolUseId: String, content: [ToolResultPart], isError: Bool) {
            self.toolUseId = toolUseId
            self.content = content
            self.isError = isError
        }
    }

    package enum ToolResultPart: Sendable, Equatable {
        case text(String)
        case json(JSONValue)
        case image(Image)
    }

    package struct Tool: Sendable, Equatable {
        package var name: String
        package var description: String
        package var inputSchema: JSONValue

        package init(name: String, description: String, inputSchema: JSONValue) {
            self.name = name
            self.description = description
            self.inputSchema = inputSchema
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
