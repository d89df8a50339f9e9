/// One `listeners` item while it is read.
struct ListenerDraft {
    var address: ListenAddress?
    /// The `address` key, where a duplicate address is reported.
    var addressField: Field?
    var open = false
}

extension ConfigDecoder {
    /// An item of `listeners`.
    static let listenerKeys = KeyTable<ListenerDraft>([
        ConfigKey("address", .required(hint: " (for example address: 127.0.0.1:8080)")) { decoder, field, listener in
            guard let text = decoder.reader.string(field) else { return }
            switch AddressSyntax.parseListenAddress(text.trimmingWhitespace()) {
            case .failure(let error):
                decoder.reader.report(error.message, field)
            case .success(let address):
                listener.address = address
                listener.addressField = field
            }
        },
        .bool("open", \.open),
    ])

    /// `listeners`: the listeners with a valid, unique address, each with the item it came from. A value that is not
    /// a list keeps the default listener.
    func decodeListeners(
        _ field: Field, _ table: KeyTable<ListenerDraft>
    ) -> [(listener: ProxyConfig.Listener, field: Field)] {
        guard let items = self.reader.sequence(field) else { return [(ProxyConfig.Listener(), field)] }
        if items.isEmpty {
            self.reader.report("must list at least one listener, for example - address: 127.0.0.1:8080", field)
        }
        var result: [(listener: ProxyConfig.Listener, field: Field)] = []
        var seen: [ListenAddress: Int] = [:]
        for item in items {
            var draft = ListenerDraft()
            guard table.read(item, with: self, into: &draft), let address = draft.address,
                let addressField = draft.addressField
            else { continue }
            if let first = seen[address], address.port != 0 {
                self.reader.report("duplicate listener address \(address) (also listeners[\(first)])", addressField)
                continue
            }
            seen[address] = result.count
            result.append((ProxyConfig.Listener(address: address, open: draft.open), item))
        }
        return result
    }
}
