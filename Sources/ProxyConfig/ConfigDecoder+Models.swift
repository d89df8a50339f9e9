/// `models` while it is read. `default` and `aliases` name models of `available`, so they are kept as written and
/// checked once every key was read.
struct ModelsDraft {
    var models = ProxyConfig.Models()
    /// `available`, when it was a list: a missing default model is reported there.
    var availableField: Field?
    /// `default` as written (trimmed), when it was a non-empty string.
    var defaultModel: (name: String, field: Field)?
    /// `aliases` as written, each entry that passed the name checks; `nil` when the key is absent or not a mapping.
    var aliases: [(name: String, target: String, field: Field)]?
}

extension ConfigDecoder {
    /// `models`.
    static let modelsKeys = KeyTable<ModelsDraft>(
        [
            ConfigKey("default") { decoder, field, draft in
                if let name = decoder.reader.nonEmptyString(field)?.trimmingWhitespace() {
                    draft.defaultModel = (name, field)
                }
            },
            .choice("unknown", \.models.unknown),
            ConfigKey("available") { decoder, field, draft in
                guard let items = decoder.reader.sequence(field) else { return }
                draft.availableField = field
                var available: [String] = []
                for item in items {
                    guard let name = decoder.reader.nonEmptyString(item)?.trimmingWhitespace() else { continue }
                    if available.contains(where: { $0.lowercased() == name.lowercased() }) {
                        decoder.reader.report("duplicate model '\(name)'", item)
                        continue
                    }
                    available.append(name)
                }
                if items.isEmpty {
                    decoder.reader.report("must list at least one upstream model id", field)
                }
                if !available.isEmpty {
                    draft.models.available = available
                }
            },
            ConfigKey("aliases") { decoder, field, draft in
                // Alias names are model names, not keys of the file: any is allowed.
                guard let map = decoder.reader.mapping(field, allowed: nil) else { return }
                var aliases: [(name: String, target: String, field: Field)] = []
                var seen: [String: String] = [:]
                for (name, entry) in map.entries {
                    if name.isEmpty {
                        decoder.reader.report("alias names must not be empty", entry)
                        continue
                    }
                    if let first = seen[name.lowercased()] {
                        decoder.reader.report("alias '\(name)' duplicates '\(first)' (names ignore case)", entry)
                        continue
                    }
                    seen[name.lowercased()] = name
                    guard let target = decoder.reader.nonEmptyString(entry)?.trimmingWhitespace() else { continue }
                    aliases.append((name, target, entry))
                }
                draft.aliases = aliases
            },
            .bool("discover", \.models.discover),
        ],
        check: { decoder, map, draft in decoder.resolveModelNames(map, &draft) }
    )

    /// Points `default` and the alias targets at entries of `available` (in their spelling there), and without
    /// `aliases` keeps the built-in aliases whose targets are available.
    private func resolveModelNames(_ map: MappingFields, _ draft: inout ModelsDraft) {
        let available = draft.models.available
        let listed = available.joined(separator: ", ")
        func canonical(_ name: String) -> String? {
            available.first { $0.lowercased() == name.lowercased() }
        }

        if map["default"] != nil {
            if let (name, field) = draft.defaultModel {
                if let known = canonical(name) {
                    draft.models.defaultModel = known
                } else {
                    self.reader.report(
                        "'\(name)' is not in models.available (\(listed))\(self.suggestion(name, available))", field)
                }
            }
        } else if let known = canonical(draft.models.defaultModel) {
            draft.models.defaultModel = known
        } else {
            // No `default`, and a custom `available` without the built-in default: point at `available`.
            self.reader.report(
                "the default model '\(draft.models.defaultModel)' is not in this list; add it, or set models.default to one of \(listed)",
                draft.availableField ?? map.field
            )
        }

        if let entries = draft.aliases {
            var aliases: [String: String] = [:]
            for (name, target, field) in entries {
                guard let known = canonical(target) else {
                    self.reader.report(
                        "target '\(target)' is not in models.available (\(listed))\(self.suggestion(target, available))",
                        field
                    )
                    continue
                }
                aliases[name] = known
            }
            draft.models.aliases = aliases
        } else {
            draft.models.aliases = ProxyConfig.Models.builtinAliases.filter { alias in
                available.contains(alias.value)
            }
        }
    }
}
