import EventStream
import Testing

@Suite("CRC-32")
struct CRC32Tests {
    /// zlib's `crc32`, as Python prints it for the same input.
    @Test(
        "known inputs give zlib's checksums",
        arguments: [
            ("", 0x0000_0000),
            ("a", 0xE8B7_BE43),
            ("123456789", 0xCBF4_3926),
            ("The quick brown fox jumps over the lazy dog", 0x414F_A339),
        ] as [(String, UInt32)]
    )
    func knownValues(input: String, expected: UInt32) {
        #expect(CRC32.checksum(Array(input.utf8)) == expected)
        #expect(CRC32.checksum(input.utf8) == expected, "non-contiguous sequences take the same result")
    }

    @Test("the sliced paths (16, 8 and 4 bytes a step) agree with the plain bitwise definition at every length and alignment")
    func matchesReference() {
        var generator = SeededRandomNumberGenerator(seed: 99)
        let bytes = (0..<300).map { _ in UInt8.random(in: 0...255, using: &generator) }
        for start in 0..<17 {
            for end in start...bytes.count {
                let slice = bytes[start..<end]
                let fast = slice.withUnsafeBytes { CRC32.update(0, $0) }
                #expect(fast == referenceCRC(slice), "bytes \(start)..<\(end)")
            }
        }
    }

    @Test("a checksum computed in pieces equals the checksum of the whole")
    func chains() {
        let bytes = Array("hello, event stream; hello, CRC".utf8)
        for split in 0...bytes.count {
            let first = CRC32.checksum(bytes[..<split])
            let chained = bytes[split...].withUnsafeBytes { CRC32.update(first, $0) }
            #expect(chained == CRC32.checksum(bytes))
        }
    }
}

/// The CRC one bit at a time, straight from its definition.
private func referenceCRC(_ bytes: some Sequence<UInt8>) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
        crc ^= UInt32(byte)
        for _ in 0..<8 {
            crc = (crc & 1) == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1
        }
    }
    return ~crc
}
