/// CRC-32 as used by AWS event-stream frames: IEEE 802.3, reflected polynomial 0xEDB88320,
/// initial value and final XOR 0xFFFFFFFF. This is zlib's `crc32`, not CRC-32C.
///
/// Values chain the way zlib's do, so a checksum can be computed in pieces:
///
/// ```swift
/// let whole = CRC32.checksum(prefix + suffix)
/// let chained = suffix.withUnsafeBytes { CRC32.update(CRC32.checksum(prefix), $0) }
/// assert(whole == chained)
/// ```
///
/// Every frame byte goes through this function twice per frame at most, so it is the decoder's hot loop.
/// It uses slicing-by-8 (eight 256-entry tables, eight bytes per step), which is several times faster than
/// the classic byte-at-a-time table and needs no platform-specific instructions.
package enum CRC32 {
    /// The CRC of `bytes`.
    package static func checksum<Bytes: Sequence>(_ bytes: Bytes) -> UInt32 where Bytes.Element == UInt8 {
        if let crc = bytes.withContiguousStorageIfAvailable({ Self.update(0, UnsafeRawBufferPointer($0)) }) {
            return crc
        }
        // Non-contiguous sequences are rare here (tests, small literals), so the simple loop is enough.
        var crc: UInt32 = ~0
        self.table.withUnsafeBufferPointer { table in
            for byte in bytes {
                crc = table[Int(UInt8(truncatingIfNeeded: crc) ^ byte)] ^ (crc >> 8)
            }
        }
        return ~crc
    }

    /// Extends `crc`, the finished CRC of some earlier bytes (0 for none), with `bytes`.
    ///
    /// - Parameters:
    ///   - crc: The CRC of the bytes that came before, or 0 to start a new checksum.
    ///   - bytes: The bytes to add.
    /// - Returns: The CRC of the earlier bytes followed by `bytes`.
    package static func update(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var crc = ~crc
        let count = bytes.count
        var offset = 0
        self.table.withUnsafeBufferPointer { table in
            while count - offset >= 8 {
                // The reflected CRC consumes bytes least-significant first, hence little-endian loads.
                let low = bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self).littleEndian ^ crc
                let high = bytes.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self).littleEndian
                crc =
                    table[7 &* 256 &+ Int(low & 0xFF)]
                    ^ table[6 &* 256 &+ Int((low >> 8) & 0xFF)]
                    ^ table[5 &* 256 &+ Int((low >> 16) & 0xFF)]
                    ^ table[4 &* 256 &+ Int(low >> 24)]
                    ^ table[3 &* 256 &+ Int(high & 0xFF)]
                    ^ table[2 &* 256 &+ Int((high >> 8) & 0xFF)]
                    ^ table[1 &* 256 &+ Int((high >> 16) & 0xFF)]
                    ^ table[Int(high >> 24)]
                offset &+= 8
            }
            while offset < count {
                crc = table[Int(UInt8(truncatingIfNeeded: crc) ^ bytes[offset])] ^ (crc >> 8)
                offset &+= 1
            }
        }
        return ~crc
    }

    /// Eight tables of 256 entries, laid out one after another. Table 0 is the classic byte-wise table;
    /// table k holds the CRC contribution of a byte followed by k zero bytes.
    private static let table: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 8 * 256)
        for index in 0..<256 {
            var crc = UInt32(index)
            for _ in 0..<8 {
                crc = (crc & 1) == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1
            }
            table[index] = crc
        }
        for index in 0..<256 {
            var crc = table[index]
            for slice in 1..<8 {
                crc = table[Int(crc & 0xFF)] ^ (crc >> 8)
                table[slice * 256 + index] = crc
            }
        }
        return table
    }()
}
