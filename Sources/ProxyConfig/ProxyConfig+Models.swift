extension ProxyConfig {
    /// `models`: which upstream models are served and how client model names map onto them.
    package struct Models: Sendable, Equatable {
        /// `default`: the upstream id used when a client names no model or (with ``UnknownModelPolicy/useDefault``)
        /// an unknown one. Always one of ``available``.
        package var defaultModel: String
        /// `unknown`: what an unknown client model name does.
        package var unknown: UnknownModelPolicy
        /// `available`: the upstream model ids served, in file order (for `/v1/models`).
        package var available: [String]
        /// `aliases`: client model name → upstream id (always one of ``available``). Keys keep their spelling;
        /// lookups ignore case. When the file has no `aliases`, ``builtinAliases`` restricted to ``available``.
        package var aliases: [String: String]
        /// `discover`: ask each account which models it has (`ListAvailableModels`) and serve those too, so that
        /// a new upstream model needs no release. `false` serves exactly ``available``.
        package var discover = true

        /// What an unknown client model name does; raw values are the YAML spellings.
        package enum UnknownModelPolicy: String, Sendable, Hashable, CaseIterable {
            /// `default`: serve it with ``Models/defaultModel``.
            case useDefault = "default"
            /// `reject`: answer with an error.
            case reject
        }

        /// The upstream ids served when the file has no `available`.
        package static let builtinAvailable = [
            "claude-sonnet-4.5", "claude-sonnet-4", "claude-haiku-4.5", "claude-opus-4.5",
        ]
        /// The default model when the file has no `default`.
        package static let builtinDefault = "claude-sonnet-4.5"

        /// Anthropic's dated and undated model names mapped onto the upstream ids, used when the file has no
        /// `aliases`. Older generations map onto the closest model Amazon Q serves today.
        package static let builtinAliases: [String: String] = [
            // Sonnet 4.5
            "claude-sonnet-4-5-20250929": "claude-sonnet-4.5",
            "claude-sonnet-4-5": "claude-sonnet-4.5",
            "claude-sonnet-4-5-latest": "claude-sonnet-4.5",
            // Sonnet 4
            "claude-sonnet-4-20250514": "claude-sonnet-4",
            "claude-sonnet-4-0": "claude-sonnet-4",
            "claude-sonnet-4-latest": "claude-sonnet-4",
            // Haiku 4.5
            "claude-haiku-4-5-20251001": "claude-haiku-4.5",
            "claude-haiku-4-5": "claude-haiku-4.5",
            "claude-haiku-4-5-latest": "claude-haiku-4.5",
            // Opus 4.5
            "claude-opus-4-5-20251101": "claude-opus-4.5",
            "claude-opus-4-5": "claude-opus-4.5",
            "claude-opus-4-5-latest": "claude-opus-4.5",
            // Opus 4.1 and 4 → Opus 4.5
            "claude-opus-4-1-20250805": "claude-opus-4.5",
            "claude-opus-4-1": "claude-opus-4.5",
            "claude-opus-4-20250514": "claude-opus-4.5",
            "claude-opus-4-0": "claude-opus-4.5",
            // Claude 3.x → the current generation
            "claude-3-7-sonnet-20250219": "claude-sonnet-4.5",
            "claude-3-7-sonnet-latest": "claude-sonnet-4.5",
            "claude-3-5-sonnet-20241022": "claude-sonnet-4.5",
            "claude-3-5-sonnet-20240620": "claude-sonnet-4.5",
            "claude-3-5-sonnet-latest": "claude-sonnet-4.5",
            "claude-3-5-haiku-20241022": "claude-haiku-4.5",
            "claude-3-5-haiku-latest": "claude-haiku-4.5",
            "claude-3-haiku-20240307": "claude-haiku-4.5",
            "claude-3-opus-20240229": "claude-opus-4.5",
            "claude-3-opus-latest": "claude-opus-4.5",
        ]

        package init(
            defaultModel: String = Models.builtinDefault,
            unknown: UnknownModelPolicy = .useDefault,
            available: [String] = Models.builtinAvailable,
            aliases: [String: String]? = nil
        ) {
            self.defaultModel = defaultModel
            self.unknown = unknown
            self.available = available
            self.aliases = aliases ?? Models.builtinAliases.filter { available.contains($0.value) }
        }

        /// Maps a client's model name onto an upstream model id.
        ///
        /// The name is looked up, ignoring case, among ``aliases`` and then ``available``; failing that, the same is
        /// tried after removing a trailing `-thinking` and then also a trailing `-YYYYMMDD` date. A name that still
        /// matches nothing resolves, under `unknown: default`, to the closest available model of its family
        /// (``closestOfFamily(_:)``) or else to ``defaultModel``, and to ``ModelResolution/unknown``
        /// under `unknown: reject`. `thinking` is true when the name ends in `-thinking`.
        ///
        /// ```swift
        /// models.resolveModel("claude-sonnet-4-5-20250929-thinking")
        /// // .resolved(upstreamID: "claude-sonnet-4.5", thinking: true)
        /// ```
        ///
        /// - Parameter clientName: The `model` field of the client's request.
        /// - Returns: The upstream id and whether extended thinking was asked for by name.
        ///   - discovered: Model ids the accounts reported (`ListAvailableModels`); used when ``discover`` is on.
        package func resolveModel(_ clientName: String, discovered: [String] = []) -> ModelResolution {
            let discovered = self.discover ? discovered : []
            let name = clientName.trimmingWhitespace()
            let thinkingSuffix = "-thinking"
            let thinking = name.lowercased().hasSuffix(thinkingSuffix) && name.count > thinkingSuffix.count
            var candidates = [name]
            var base = name
            if thinking {
                base = String(name.dropLast(thinkingSuffix.count))
                candidates.append(base)
            }
            if let undated = Models.removingDateSuffix(base) {
                candidates.append(undated)
            }
            for candidate in candidates {
                if let upstreamID = self.lookup(candidate) ?? discovered.first(where: { $0.lowercased() == candidate.lowercased() }) {
                    return .resolved(upstreamID: upstreamID, thinking: thinking)
                }
            }
            // Under `unknown: reject` the operator's table is exact; otherwise a known family beats the default.
            if self.unknown == .useDefault, let upstreamID = self.closestOfFamily(base, among: self.available + discovered) {
                return .resolved(upstreamID: upstreamID, thinking: thinking)
            }
            switch self.unknown {
            case .useDefault: return .fallback(upstreamID: self.defaultModel, thinking: thinking)
            case .reject: return .unknown
            }
        }

        /// The upstream id for an exact (case-insensitive) alias or available name.
        private func lookup(_ name: String) -> String? {
            let key = name.lowercased()
            if let target = self.aliases.first(where: { $0.key.lowercased() == key })?.value {
                return target
            }
            return self.available.first { $0.lowercased() == key }
        }

        /// The model families Anthropic names its models by.
        static let families = ["opus", "sonnet", "haiku"]

        /// For a name of a known family that no table lists (`claude-opus-5-5`, a model newer than this release), the
        /// available model of the same family whose version is closest (the newer one on a tie). A haiku background
        /// request then stays on haiku instead of spending the default model's quota.
        func closestOfFamily(_ name: String, among candidates: [String]) -> String? {
            guard let (family, version) = Models.familyAndVersion(name) else { return nil }
            let members = candidates.compactMap { id -> (id: String, version: Double)? in
                guard let parsed = Models.familyAndVersion(id), parsed.family == family else { return nil }
                return (id, parsed.version ?? 0)
            }
            guard let target = version else { return members.max { $0.version < $1.version }?.id }
            return members.min { a, b in
                let da = abs(a.version - target)
                let db = abs(b.version - target)
                return da == db ? a.version > b.version : da < db
            }?.id
        }

        /// `claude-opus-5-5` → (opus, 5.5); `claude-sonnet-4.5` → (sonnet, 4.5); `claude-3-5-haiku` → (haiku, 3.5).
        /// Date suffixes (8 digits) are not versions.
        static func familyAndVersion(_ name: String) -> (family: String, version: Double?)? {
            let parts = name.lowercased().split(whereSeparator: { $0 == "-" || $0 == "_" || $0 == " " }).map(String.init)
            guard let family = families.first(where: { parts.contains($0) }) else { return nil }
            let numbers = parts.flatMap { $0.split(separator: ".").map(String.init) }.filter { part in
                !part.isEmpty && part.count < 4 && part.allSatisfy(\.isNumber)
            }
            guard let major = numbers.first.flatMap({ Double($0) }) else { return (family, nil) }
            let minor = numbers.dropFirst().first.flatMap { Double($0) } ?? 0
            return (family, major + minor / 10)
        }

        /// `name` without a trailing `-YYYYMMDD`, or `nil` if it has none.
        static func removingDateSuffix(_ name: String) -> String? {
            let utf8 = Array(name.utf8)
            guard utf8.count > 9 else { return nil }
            let dash = utf8.count - 9
            guard utf8[dash] == UInt8(ascii: "-"),
                utf8[(dash + 1)...].allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) })
            else { return nil }
            return String(decoding: utf8[..<dash], as: UTF8.self)
        }
    }
}

/// The outcome of ``ProxyConfig/Models/resolveModel(_:)``.
package enum ModelResolution: Sendable, Hashable {
    /// The name (or its base name) is an alias or an available model.
    case resolved(upstreamID: String, thinking: Bool)
    /// The name is unknown and `unknown: default` sent it to the default model.
    case fallback(upstreamID: String, thinking: Bool)
    /// The name is unknown and `unknown: reject` is set.
    case unknown

    /// The upstream model id, or `nil` for ``unknown``.
    package var upstreamID: String? {
        switch self {
        case .resolved(let id, _), .fallback(let id, _): return id
        case .unknown: return nil
        }
    }

    /// Whether the name asked for extended thinking with a `-thinking` suffix (false for ``unknown``).
    package var thinking: Bool {
        switch self {
        case .resolved(_, let thinking), .fallback(_, let thinking): return thinking
        case .unknown: return false
        }
    }
}

extension String {
    /// The string without leading and trailing spaces, tabs, carriage returns and newlines.
    func trimmingWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }
        guard let start = self.firstIndex(where: { !isSpace($0) }) else { return "" }
        let end = self.lastIndex(where: { !isSpace($0) })!
        return String(self[start...end])
    }
}
