/// The headers of a frame when every one of them is a string header whose name and value are ``InternedString``s,
/// as on nearly every Amazon Q frame: up to four (name, value) pairs in wire order, packed into one integer.
///
/// The decoder produces this instead of an array of ``EventStreamHeader`` so that decoding such a frame allocates
/// nothing; ``EventStreamMessage`` answers its accessors from it and builds the array only when asked for
/// ``EventStreamMessage/headers``.
///
/// ```swift
/// let headers = InternedHeaders.parse(headerBytes)  // nil: not all interned, use the general parser
/// headers?.string(named: .eventTypeName)            // "assistantResponseEvent"
/// ```
struct InternedHeaders: Equatable {
    /// Pair `i` in bits `16 * i ..< 16 * i + 16`: the name's raw value, then the value's. A zero name ends the list.
    private var packed: UInt64

    /// Amazon Q sends three headers; a fourth leaves room for one more without falling back to the array.
    static let capacity = 4

    /// The headers section `bytes` as interned pairs, or `nil` if it is anything else: empty, more than
    /// ``capacity`` headers, a header that is not a string, a name or value that is not interned, or malformed.
    ///
    /// It never throws: whatever it does not accept, including malformed bytes, goes to the general parser, which
    /// reports errors. Anything it accepts, the general parser would read as the same strings.
    static func parse(_ bytes: UnsafeRawBufferPointer) -> Self? {
        let count = bytes.count
        guard count > 0 else { return nil }
        var packed: UInt64 = 0
        var offset = 0
        var shift: UInt64 = 0
        while offset < count {
            guard shift < 16 * UInt64(Self.capacity) else { return nil }
            // Name length (1 byte), name, value type (1 byte), value length (2 bytes), value.
            let nameLength = Int(bytes[offset])
            let nameStart = offset &+ 1
            guard count &- nameStart >= nameLength &+ 3 else { return nil }
            guard let name = InternedString(UnsafeRawBufferPointer(rebasing: bytes[nameStart..<(nameStart &+ nameLength)]))
            else { return nil }
            let typeOffset = nameStart &+ nameLength
            guard bytes[typeOffset] == EventStreamHeaderValue.WireType.string.rawValue else { return nil }
            let valueLength = Int(UInt16(bigEndian: bytes.loadUnaligned(fromByteOffset: typeOffset &+ 1, as: UInt16.self)))
            let valueStart = typeOffset &+ 3
            guard count &- valueStart >= valueLength else { return nil }
            guard let value = InternedString(UnsafeRawBufferPointer(rebasing: bytes[valueStart..<(valueStart &+ valueLength)]))
            else { return nil }
            packed |= (UInt64(name.rawValue) | UInt64(value.rawValue) << 8) << shift
            shift &+= 16
            offset = valueStart &+ valueLength
        }
        return Self(packed: packed)
    }

    /// The value of the first header called `name`, if any.
    func string(named name: InternedString) -> String? {
        var rest = self.packed
        while rest != 0 {
            if UInt8(truncatingIfNeeded: rest) == name.rawValue {
                return InternedString(rawValue: UInt8(truncatingIfNeeded: rest >> 8))?.string
            }
            rest >>= 16
        }
        return nil
    }

    /// The value of the first header called `name`, if any, for names given as strings.
    func string(named name: String) -> String? {
        var rest = self.packed
        while rest != 0 {
            if let candidate = InternedString(rawValue: UInt8(truncatingIfNeeded: rest)), candidate.string == name {
                return InternedString(rawValue: UInt8(truncatingIfNeeded: rest >> 8))?.string
            }
            rest >>= 16
        }
        return nil
    }

    /// The headers as the general parser would have returned them.
    var headers: [EventStreamHeader] {
        var headers: [EventStreamHeader] = []
        headers.reserveCapacity(Self.capacity)
        var rest = self.packed
        while let name = InternedString(rawValue: UInt8(truncatingIfNeeded: rest)),
            let value = InternedString(rawValue: UInt8(truncatingIfNeeded: rest >> 8))
        {
            headers.append(EventStreamHeader(name: name.string, value: .string(value.string)))
            rest >>= 16
        }
        return headers
    }
}
