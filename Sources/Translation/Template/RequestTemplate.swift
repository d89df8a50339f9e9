import ProxyModels

/// The Amazon Q request body as a JSON template, compiled once when the config loads.
///
/// Amazon Q's request shape is undocumented and changes; the template lets an operator
/// follow a change (a new member, another `origin`, other envelope text) by editing a file
/// instead of waiting for a release.
///
/// A placeholder is a JSON string. When the whole string is `"{{name}}"` it stands for a JSON
/// value (string, object, array) that replaces it structurally; when that value is absent the
/// member is left out, because the upstream rejects explicit nulls. Inside a longer string,
/// `{{name}}` is replaced by text. Nothing is ever pasted into JSON source, so no content can
/// break the document.
///
/// ```json
/// {"user_message": {"content": "{{content}}", "origin": "KIRO_CLI", "modelId": "{{model_id}}"}}
/// ```
package struct RequestTemplate: Sendable {
    /// The sections of a template file, each with the placeholders it may use.
    package enum Section: String, CaseIterable, Sendable {
        case headers
        /// Headers a `kind: kiro` account sends instead of (or besides) `headers`: the Kiro client's user agents.
        case kiroHeaders = "kiro_headers"
        case request
        case userMessage = "user_message"
        case assistantMessage = "assistant_message"
        case systemPrompt = "system_prompt"
        case systemAcknowledgement = "system_acknowledgement"
        case systemMessage = "system_message"
        case userContent = "user_content"
        case thinkingHint = "thinking_hint"

        package var placeholders: Set<String> {
            switch self {
            case .headers, .systemAcknowledgement: []
            // The account's machine id, the per-installation part of a Kiro client's user agent.
            case .kiroHeaders: ["machine_id"]
            // `profile_arn` is the sending account's, filled when an account sends the plan
            // (`UpstreamRequestPlan.body(profileARN:)`); the other values are known when planning.
            case .request: ["conversation_id", "history", "current_message", "profile_arn", "model_id"]
            case .userMessage: ["content", "tools", "tool_results", "model_id", "images"]
            case .assistantMessage: ["message_id", "content", "tool_uses"]
            case .systemPrompt: ["system"]
            case .systemMessage: ["text"]
            case .userContent: ["text", "time"]
            case .thinkingHint: ["budget"]
            }
        }
    }

    /// Where the template came from, for messages (`built-in` or a file path).
    package let origin: String
    package let headers: [(name: String, value: String)]
    /// `kiro_headers`: merged over ``headers`` for `kind: kiro` accounts (``headers(kiroMachineID:)``).
    package let kiroHeaders: [(name: String, value: String)]
    private let sections: [Section: Node]

    /// The headers an account sends: ``headers`` as they are for an OIDC account (`nil`), or with `kiro_headers`
    /// replacing the headers of the same name (and adding the others) for a Kiro account, `{{machine_id}}`
    /// filled in. So both kinds go through one request path and differ only in the values the kind fills in.
    package func headers(kiroMachineID: String?) -> [(name: String, value: String)] {
        guard let kiroMachineID else { return headers }
        var merged = headers
        for header in kiroHeaders {
            let value = Self.fill(header.value, placeholder: "{{machine_id}}", with: kiroMachineID)
            if let index = merged.firstIndex(where: { $0.name == header.name }) {
                merged[index].value = value
            } else {
                merged.append((header.name, value))
            }
        }
        return merged
    }

    /// `text` with every `placeholder` replaced by `value`.
    private static func fill(_ text: String, placeholder: String, with value: String) -> String {
        var result = ""
        var rest = text[...]
        while let range = rest.firstRange(of: placeholder) {
            result += rest[..<range.lowerBound]
            result += value
            rest = rest[range.upperBound...]
        }
        return result + rest
    }

    /// Renders a section with the given values; a missing or `nil` value removes its member.
    package func render(_ section: Section, _ values: [String: JSONValue?] = [:]) -> JSONValue {
        guard let node = sections[section] else { return .null }
        return node.render(values) ?? .null
    }

    /// Renders a text section (`system_prompt`, `user_content`, …) to its string.
    package func renderText(_ section: Section, _ values: [String: JSONValue?] = [:]) -> String {
        render(section, values).stringValue ?? ""
    }

    // MARK: - Compiling

    /// Compiles a template file. Sections the file leaves out come from the built-in template.
    ///
    /// - Throws: `TemplateError` naming the file, line and column of invalid JSON, an unknown
    ///   section or an unknown placeholder.
    package static func compile(source: String, origin: String) throws(TemplateError) -> RequestTemplate {
        let document: JSONValue
        do {
            document = try JSONParser.parse(source)
        } catch {
            throw TemplateError(origin: origin, line: error.line, column: error.column, message: "invalid JSON: \(error.message)")
        }
        guard let members = document.objectValue else {
            throw TemplateError(origin: origin, line: 1, column: 1, message: "a template must be a JSON object of sections")
        }
        let builtIn = origin == builtInOrigin ? nil : RequestTemplate.builtIn
        var sections: [Section: Node] = builtIn?.sections ?? [:]
        var headers = builtIn?.headers ?? []
        var kiroHeaders = builtIn?.kiroHeaders ?? []
        for member in members {
            guard let section = Section(rawValue: member.key) else {
                let (line, column) = position(of: "\"\(member.key)\"", in: source)
                let known = Section.allCases.map(\.rawValue).joined(separator: ", ")
                throw TemplateError(
                    origin: origin, line: line, column: column, message: "unknown section \"\(member.key)\"; known sections: \(known)")
            }
            try checkPlaceholders(member.value, section: section, source: source, origin: origin)
            if section == .headers || section == .kiroHeaders {
                guard let pairs = member.value.objectValue else {
                    throw located("\"\(member.key)\"", in: source, origin: origin, "\(member.key) must be an object of strings")
                }
                var read: [(name: String, value: String)] = []
                for pair in pairs {
                    guard let value = pair.value.stringValue else {
                        throw located("\"\(pair.key)\"", in: source, origin: origin, "header \(pair.key) must be a string")
                    }
                    read.append((pair.key.lowercased(), value))
                }
                if section == .headers { headers = read } else { kiroHeaders = read }
            } else {
                let isText = [.systemPrompt, .systemAcknowledgement, .systemMessage, .userContent, .thinkingHint].contains(section)
                if isText, member.value.stringValue == nil {
                    throw located("\"\(member.key)\"", in: source, origin: origin, "section \(member.key) must be a string")
                }
                if !isText, member.value.objectValue == nil {
                    throw located("\"\(member.key)\"", in: source, origin: origin, "section \(member.key) must be an object")
                }
                sections[section] = Node(member.value)
            }
        }
        for section in Section.allCases where section != .headers && section != .kiroHeaders && sections[section] == nil {
            throw TemplateError(origin: origin, line: 1, column: 1, message: "missing section \"\(section.rawValue)\"")
        }
        return RequestTemplate(origin: origin, headers: headers, kiroHeaders: kiroHeaders, sections: sections)
    }

    private init(
        origin: String, headers: [(name: String, value: String)], kiroHeaders: [(name: String, value: String)], sections: [Section: Node]
    ) {
        self.origin = origin
        self.headers = headers
        self.kiroHeaders = kiroHeaders
        self.sections = sections
    }

    static let builtInOrigin = "built-in"

    /// The template used when `upstream.template` is not set.
    package static let builtIn: RequestTemplate = {
        do {
            return try compile(source: builtInSource, origin: builtInOrigin)
        } catch {
            fatalError("the built-in request template does not compile: \(error)")
        }
    }()

    private static func checkPlaceholders(_ value: JSONValue, section: Section, source: String, origin: String) throws(TemplateError) {
        switch value {
        case .string(let text):
            for name in placeholderNames(in: text) where !section.placeholders.contains(name) {
                let allowed = section.placeholders.sorted().map { "{{\($0)}}" }.joined(separator: ", ")
                throw located(
                    "{{\(name)}}", in: source, origin: origin,
                    "unknown placeholder {{\(name)}} in section \(section.rawValue); allowed: \(allowed.isEmpty ? "none" : allowed)")
            }
        case .array(let items):
            for item in items { try checkPlaceholders(item, section: section, source: source, origin: origin) }
        case .object(let members):
            for member in members { try checkPlaceholders(member.value, section: section, source: source, origin: origin) }
        default:
            break
        }
    }

    private static func located(_ needle: String, in source: String, origin: String, _ message: String) -> TemplateError {
        let (line, column) = position(of: needle, in: source)
        return TemplateError(origin: origin, line: line, column: column, message: message)
    }

    /// 1-based line and column of the first occurrence of `needle` (1:1 when absent).
    static func position(of needle: String, in source: String) -> (Int, Int) {
        guard let range = source.firstRange(of: needle) else { return (1, 1) }
        let before = source[..<range.lowerBound]
        let line = before.reduce(1) { $1 == "\n" ? $0 + 1 : $0 }
        let column = before.distance(from: before.lastIndex(of: "\n").map { before.index(after: $0) } ?? before.startIndex, to: before.endIndex) + 1
        return (line, column)
    }

    static func placeholderNames(in text: String) -> [String] {
        Node.parts(of: text).compactMap { if case .placeholder(let name) = $0 { name } else { nil } }
    }
}

/// A template that does not compile: where and why.
package struct TemplateError: Error, Sendable, Equatable, CustomStringConvertible {
    package var origin: String
    package var line: Int
    package var column: Int
    package var message: String

    package var description: String { "\(origin):\(line):\(column): \(message)" }
}

// MARK: - Compiled nodes

extension RequestTemplate {
    /// A compiled template value. Subtrees without placeholders stay literal JSON.
    fileprivate indirect enum Node: Sendable {
        case literal(JSONValue)
        case value(String)
        case text([Part])
        case array([Node])
        case object([(String, Node)])

        enum Part: Sendable, Equatable {
            case literal(String)
            case placeholder(String)
        }

        init(_ value: JSONValue) {
            switch value {
            case .string(let text):
                let parts = Node.parts(of: text)
                if parts.count == 1, case .placeholder(let name) = parts[0] {
                    self = .value(name)
                } else if parts.contains(where: { if case .placeholder = $0 { true } else { false } }) {
                    self = .text(parts)
                } else {
                    self = .literal(value)
                }
            case .array(let items):
                let nodes = items.map(Node.init)
                self = nodes.allSatisfy(\.isLiteral) ? .literal(value) : .array(nodes)
            case .object(let members):
                let nodes = members.map { ($0.key, Node($0.value)) }
                self = nodes.allSatisfy(\.1.isLiteral) ? .literal(value) : .object(nodes)
            default:
                self = .literal(value)
            }
        }

        var isLiteral: Bool {
            if case .literal = self { return true }
            return false
        }

        /// `nil` means "absent": the enclosing member or element is left out.
        func render(_ values: [String: JSONValue?]) -> JSONValue? {
            switch self {
            case .literal(let value): return value
            case .value(let name): return values[name] ?? nil
            case .text(let parts):
                var result = ""
                for part in parts {
                    switch part {
                    case .literal(let text): result += text
                    case .placeholder(let name):
                        switch values[name] ?? nil {
                        case .string(let text)?: result += text
                        case .number(let literal)?: result += literal
                        case .bool(let flag)?: result += flag ? "true" : "false"
                        case let other?: result += other.jsonString
                        case nil: break
                        }
                    }
                }
                return .string(result)
            case .array(let nodes): return .array(nodes.compactMap { $0.render(values) })
            case .object(let nodes):
                var members: [JSONMember] = []
                members.reserveCapacity(nodes.count)
                for (key, node) in nodes {
                    if let value = node.render(values) { members.append(JSONMember(key, value)) }
                }
                return .object(members)
            }
        }

        static func parts(of text: String) -> [Part] {
            var parts: [Part] = []
            var rest = Substring(text)
            while let open = rest.firstRange(of: "{{") {
                guard let close = rest[open.upperBound...].firstRange(of: "}}") else { break }
                let name = rest[open.upperBound..<close.lowerBound]
                guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
                    parts.append(.literal(String(rest[..<open.upperBound])))
                    rest = rest[open.upperBound...]
                    continue
                }
                if open.lowerBound > rest.startIndex { parts.append(.literal(String(rest[..<open.lowerBound]))) }
                parts.append(.placeholder(String(name)))
                rest = rest[close.upperBound...]
            }
            if !rest.isEmpty { parts.append(.literal(String(rest))) }
            // Merge adjacent literals produced by skipped braces.
            var merged: [Part] = []
            for part in parts {
                if case .literal(let text) = part, case .literal(let previous)? = merged.last {
                    merged[merged.count - 1] = .literal(previous + text)
                } else {
                    merged.append(part)
                }
            }
            return merged
        }
    }
}
