import ProxyModels

extension UpstreamRequestRenderer {
    /// A user turn in upstream shape.
    struct UserParts {
        /// The user's own text (what goes in the envelope of the current message).
        var text: String
        var results: [JSONValue]
        var images: [JSONValue]
        /// Folded system-role messages, rendered, that come before any of the user's text, and after it.
        var leadingInstructions: [String]
        var trailingInstructions: [String]
        /// Text and instructions in their order, for a history turn.
        var inline: String
    }

    /// The text, tool results and images of a user turn; the instructions of folded system-role messages keep
    /// their place relative to the user's text.
    func userParts(_ message: Conversation.Message) -> UserParts {
        var texts: [String] = []
        var leading: [String] = []
        var trailing: [String] = []
        var inline = ""
        var lastWasInstruction = false
        func appendInline(_ piece: String, instruction: Bool) {
            if !inline.isEmpty { inline += instruction || lastWasInstruction ? "\n\n" : "\n" }
            inline += piece
            lastWasInstruction = instruction
        }
        var results: [JSONValue] = []
        var images: [JSONValue] = []
        for block in message.content {
            switch block {
            case .text(let text):
                if !text.isEmpty {
                    texts.append(text)
                    appendInline(text, instruction: false)
                }
            case .instruction(let text):
                let rendered = template.renderText(.systemMessage, ["text": .string(text)])
                if texts.isEmpty { leading.append(rendered) } else { trailing.append(rendered) }
                appendInline(rendered, instruction: true)
            case .image(let image): images.append(Self.imageValue(image))
            case .toolResult(let result):
                results.append(toolResultValue(result, images: &images))
            case .toolChange(let change):
                texts.append(change.note)
                appendInline(change.note, instruction: false)
            case .toolUse, .thinking: break
            }
        }
        return UserParts(
            text: texts.joined(separator: "\n"), results: results, images: images, leadingInstructions: leading, trailingInstructions: trailing,
            inline: inline)
    }

    /// A tool result in upstream shape; its images join the turn's images, since the upstream takes none in results.
    func toolResultValue(_ result: Conversation.ToolResult, images: inout [JSONValue]) -> JSONValue {
        var content: [JSONValue] = []
        for part in result.content {
            switch part {
            case .text(let text): if !text.trimmingWhitespace().isEmpty { content.append(["text": .string(text)]) }
            case .json(let json): content.append(["json": json])
            case .image(let image): images.append(Self.imageValue(image))
            case .toolReference(let name): content.append(["text": .string("Tool loaded: \(name)")])
            }
        }
        if content.isEmpty {
            // A result without output says so neutrally: a text that says the tool was cancelled makes the model retry.
            content = [["text": .string(result.isError ? UpstreamRequestBuilder.emptyErrorResult : UpstreamRequestBuilder.emptySuccessResult)]]
        }
        return [
            "toolUseId": .string(result.toolUseID), "content": .array(content),
            "status": .string(result.isError ? "error" : "success"),
        ]
    }

    static func imageValue(_ image: Conversation.Image) -> JSONValue {
        ["format": .string(image.format), "source": ["bytes": .string(image.base64)]]
    }
}
