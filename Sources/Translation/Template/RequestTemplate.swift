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
/// {"user_message": {"content": "{{content}}", "origin": "{{origin}}", "modelId": "{{model_id}}"}}
/// ```
///
/// Values that depend on the account that sends a request (its profile ARN, the `origin` its kind sends) are filled
/// per account when the plan is sent (``UpstreamRequestPlan/body(profileARN:origin:)``); everything else when planning.
package struct RequestTemplate: Sendable {
    /// The sections of a template file, each with the placeholders it may use.
    package enum Section: String, CaseIterable, Sendable {
        case headers
        /// Headers a `kind: kiro` account sends instead of (or besides) `headers`: the Kiro client's user agents.
        case kiroHeaders = "kiro_headers"
        /// The `{{origin}}` each account kind sends: `{"oidc": "KIRO_CLI", "kiro": "AI_EDITOR"}` (the clients whose
        /// tokens each kind holds send these; see the README's Kiro protocol notes).
        case origins
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
            case .headers, .origins, .systemAcknowledgement: []
            // The account's machine id, the per-installation part of a Kiro client's user agent.
            case .kiroHeaders: ["machine_id"]
            // `profile_arn` and `origin` are the sending account's, filled when an account sends the plan
            // (`UpstreamRequestPlan.body(profileARN:origin:)`); the other values are known when planning.
            case .request: ["conversation_id", "history", "current_message", "profile_arn", "origin", "model_id"]
            // `origin` is the sending account kind's (`origins`); it must be a member's whole value, outside arrays, so
            // that the rendered history can take another kind's value without being rendered again.
            case .userMessage: ["content", "tools", "tool_results", "model_id", "images", "origin"]
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
    /// `origins`: each account kind's `{{origin}}`; `""` leaves the member out.
    package let origins: [String: String]
    /// Where `"{{origin}}"` is in a rendered user message: key paths, each from the message object to the member.
    let userMessageOriginPaths: [[String]]
    private let sections: [Section: Node]

    /// The account kinds `origins` may name (ProxyConfig's `AccountKind` raw values; a test keeps them equal).
    package static let accountKinds = ["oidc", "kiro"]
    /// The kind whose values `UpstreamRequestPlan.body` (and `q2api explain`) shows: an OIDC account's.
    package static let defaultKind = "oidc"

    /// The `{{origin}}` an account of `kind` sends (`oidc`, `kiro`); `nil` leaves the member out.
    package func origin(forKind kind: String) -> String? {
        origins[kind].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The origin user messages are rendered with when planning: the default kind's, so an OIDC account's request
    /// needs no second pass. `""` when that kind sends none, so the member still holds its place for other kinds.
    var planningOrigin: String { origins[Self.defaultKind] ?? "" }

    /// The Kiro IDE version the `kiro_headers` user agent names (`KiroIDE-<version>-{{machine_id}}`), the built-in
    /// template's when it names none. A Kiro refresh names this version too (`KiroIDE-<version>-<machine id>`), so
    /// one template value sets it for requests and refreshes.
    package var kiroVersion: String {
        Self.kiroVersion(in: kiroHeaders) ?? Self.kiroVersion(in: RequestTemplate.builtIn.kiroHeaders) ?? ""
    }

    private static func kiroVersion(in headers: [(name: String, value: String)]) -> String? {
        guard let agent = headers.first(where: { $0.name == "user-agent" })?.value,
            let start = agent.firstRange(of: "KiroIDE-")?.upperBound
        else { return nil }
        let version = agent[start...].prefix { $0 != "-" && $0 != " " }
        return version.isEmpty || version.contains("{") ? nil : String(version)
    }

    /// A rendered user message with another origin: `origin` at each of the template's `{{origin}}` members, or the
    /// members left out for `nil`. Touches only those members, so a request's history costs a few copies per message.
    func userMessage(_ message: JSONValue, origin: String?) -> JSONValue {
        userMessageOriginPaths.reduce(message) { Self.setting($1[...], in: $0, to: origin.map(JSONValue.string)) }
    }

    private static func setting(_ path: ArraySlice<String>, in value: JSONValue, to newValue: JSONValue?) -> JSONValue {
        guard let key = path.first else { return value }
        if path.count == 1 { return value[key] == nil ? value : value.setting(key, to: newValue) }
        guard let child = value[key] else { return value }
        return value.setting(key, to: setting(path.dropFirst(), in: child, to: newValue))
    }

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
        var origins = builtIn?.origins ?? [:]
        for member in members {
            guard let section = Section(rawValue: member.key) else {
                let (line, column) = position(of: "\"\(member.key)\"", in: source)
                let known = Section.allCases.map(\.rawValue).joined(separator: ", ")
                throw TemplateError(
                    origin: origin, line: line, column: column, message: "unknown section \"\(member.key)\"; known sections: \(known)")
            }
            try checkPlaceholders(member.value, section: section, source: source, origin: origin)
            if section == .origins {
                guard let pairs = member.value.objectValue else {
                    throw located("\"\(member.key)\"", in: source, origin: origin, "origins must be an object of strings, one per account kind")
                }
                // A kind the file leaves out keeps the built-in origin.
                for pair in pairs {
                    guard accountKinds.contains(pair.key) else {
                        throw located(
                            "\"\(pair.key)\"", in: source, origin: origin,
                            "unknown account kind \"\(pair.key)\" in origins; known kinds: \(accountKinds.joined(separator: ", "))")
                    }
                    guard let value = pair.value.stringValue else {
                        throw located("\"\(pair.key)\"", in: source, origin: origin, "the origin of \(pair.key) must be a string (\"\" for none)")
                    }
                    origins[pair.key] = value
                }
            } else if section == .headers || section == .kiroHeaders {
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
        for section in Section.allCases where ![.headers, .kiroHeaders, .origins].contains(section) && sections[section] == nil {
            throw TemplateError(origin: origin, line: 1, column: 1, message: "missing section \"\(section.rawValue)\"")
        }
        guard let originPaths = sections[.userMessage]?.paths(of: "origin") else {
            throw located(
                "{{origin}}", in: source, origin: origin,
                "{{origin}} in user_message must be a member's whole value (\"origin\": \"{{origin}}\"), outside arrays")
        }
        return RequestTemplate(
            origin: origin, headers: headers, kiroHeaders: kiroHeaders, origins: origins, userMessageOriginPaths: originPaths,
            sections: sections)
    }

    private init(
        origin: String, headers: [(name: String, value: String)], kiroHeaders: [(name: String, value: String)], origins: [String: String],
        userMessageOriginPaths: [[String]], sections: [Section: Node]
    ) {
        self.origin = origin
        self.headers = headers
        self.kiroHeaders = kiroHeaders
        self.origins = origins
        self.userMessageOriginPaths = userMessageOriginPaths
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

        /// The key paths of the members whose whole value is `"{{name}}"`; `nil` when `{{name}}` is also inside a
        /// longer string or an array, where no key path reaches it.
        func paths(of name: String) -> [[String]]? {
            switch self {
            case .literal: return []
            case .value(let placeholder): return placeholder == name ? [[]] : []
            case .text(let parts): return parts.contains(.placeholder(name)) ? nil : []
            case .array(let nodes): return nodes.contains { $0.paths(of: name) != [] } ? nil : []
            case .object(let members):
                var paths: [[String]] = []
                for (key, node) in members {
                    guard let inner = node.paths(of: name) else { return nil }
                    paths += inner.map { [key] + $0 }
                }
                return paths
            }
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
