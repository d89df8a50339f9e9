import EventStream
import NIOCore
import Testing

@Suite("Corrupted input")
struct EventStreamCorruptionTests {
    @Test("any single flipped bit in any frame is reported as the right checksum error", arguments: Sample.names)
    func everyBitFlip(name: String) throws {
        let sample = try Sample.load(name)
        var failures: [String] = []
        for (index, frame) in sample.frames.enumerated() {
            for offsetInFrame in 0..<frame.totalLength {
                // Bytes 0-11 are the prelude: it is checked before its lengths are believed.
                let expected: EventStreamError =
                    offsetInFrame < 12 ? .preludeChecksumMismatch : .messageChecksumMismatch
                for bit in 0..<8 {
                    var bytes = sample.bytes
                    bytes[frame.offset + offsetInFrame] ^= 1 << bit
                    let outcome = Self.decodeUntilError(bytes)
                    if outcome.frames != index || outcome.error != expected {
                        let error = outcome.error.map { String(describing: $0) } ?? "no error"
                        failures.append(
                            "frame \(index) byte \(offsetInFrame) bit \(bit): \(outcome.frames) frames, \(error)")
                    }
                }
            }
        }
        if !failures.isEmpty {
            Issue.record("\(failures.count) bit flips misreported; the first: \(failures.prefix(5))")
        }
    }

    @Test("a corrupt frame is reported even when it arrives one byte at a time")
    func bitFlipDripFed() throws {
        var bytes = try Sample.load("text_stream").bytes
        bytes[159 + 50] ^= 0x10
        #expect(throws: EventStreamError.messageChecksumMismatch) { try decodeStream(bytes, chunking: .fixed(1)) }
        bytes = try Sample.load("text_stream").bytes
        bytes[159 + 2] ^= 0x80
        #expect(throws: EventStreamError.preludeChecksumMismatch) { try decodeStream(bytes, chunking: .fixed(1)) }
    }

    @Test("a corrupt prelude announcing a huge frame fails at once instead of waiting for the bytes")
    func corruptLengthDoesNotWait() throws {
        var bytes = Array(try Sample.load("text_stream").bytes.prefix(12))
        bytes[0] = 0x7F
        var decoder = EventStreamDecoder()
        var buffer = ByteBuffer(bytes: bytes)
        #expect(throws: EventStreamError.preludeChecksumMismatch) { try decoder.decode(buffer: &buffer) }
    }

    /// Each input either decodes to frames that account for every byte, or throws an `EventStreamError`,
    /// and never makes the decoder return a frame without consuming input (which would loop forever).
    @Test("thousands of randomly mutated streams never crash or hang the decoder")
    func randomMutations() throws {
        let samples = try Sample.loadAll()
        var generator = SeededRandomNumberGenerator(seed: 2024)
        var outcomes: [String: Int] = [:]
        for _ in 0..<2_000 {
            let sample = samples.randomElement(using: &generator)!
            let bytes = Self.mutate(sample, using: &generator)
            let outcome = Self.decodeFully(bytes, chunking: .random(seed: generator.next()))
            switch outcome {
            case .success(let consumed):
                #expect(consumed == bytes.count)
                outcomes["decoded", default: 0] += 1
            case .failure(let error):
                outcomes[error.shortDescription, default: 0] += 1
            }
        }
        // The mutations must reach past the checksums, or the header parser was never exercised.
        #expect(outcomes["invalid_header", default: 0] > 50, "\(outcomes)")
        #expect(outcomes["invalid_length", default: 0] > 0, "\(outcomes)")
        #expect(outcomes["decoded", default: 0] > 0, "\(outcomes)")
    }

    // MARK: - Helpers

    private static func decodeUntilError(_ bytes: [UInt8]) -> (frames: Int, error: EventStreamError?) {
        var decoder = EventStreamDecoder()
        var buffer = ByteBuffer(bytes: bytes)
        var frames = 0
        do {
            while let _ = try decoder.decode(buffer: &buffer) { frames += 1 }
            _ = try decoder.decodeLast(buffer: &buffer, seenEOF: true)
            return (frames, nil)
        } catch {
            return (frames, error as? EventStreamError)
        }
    }

    private enum Outcome {
        case success(consumed: Int)
        case failure(EventStreamError)
    }

    /// Drives the decoder by hand, like NIO's processor, but with a bound on the number of calls.
    private static func decodeFully(_ bytes: [UInt8], chunking: Chunking) -> Outcome {
        var decoder = EventStreamDecoder(maximumMessageLength: 64 * 1024)
        var buffer = ByteBuffer()
        var consumed = 0
        do {
            for range in chunking.ranges(count: bytes.count) {
                buffer.writeBytes(bytes[range])
                // Every frame is at least 16 bytes, so more calls than this means no progress.
                for _ in 0...(buffer.readableBytes / 16) {
                    let before = buffer.readableBytes
                    guard try decoder.decode(buffer: &buffer) != nil else { break }
                    #expect(before - buffer.readableBytes >= 16)
                    consumed += before - buffer.readableBytes
                }
            }
            for _ in 0...(buffer.readableBytes / 16 + 1) {
                let before = buffer.readableBytes
                guard try decoder.decodeLast(buffer: &buffer, seenEOF: true) != nil else { break }
                consumed += before - buffer.readableBytes
            }
            return .success(consumed: consumed)
        } catch let error as EventStreamError {
            return .failure(error)
        } catch {
            Issue.record("unexpected error type: \(error)")
            return .failure(.invalidHeader)
        }
    }

    /// A mutated copy of a sample. Half the mutations re-seal the CRCs afterwards so that the length and
    /// header checks, not just the checksums, see damaged input.
    private static func mutate(_ sample: Sample, using generator: inout SeededRandomNumberGenerator) -> [UInt8] {
        var bytes = sample.bytes
        let frame = sample.frames.randomElement(using: &generator)!
        let inFrame = { (generator: inout SeededRandomNumberGenerator) in
            frame.offset + Int.random(in: 0..<frame.totalLength, using: &generator)
        }
        switch Int.random(in: 0..<9, using: &generator) {
        case 0:  // a few flipped bits anywhere
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                bytes[Int.random(in: 0..<bytes.count, using: &generator)] ^=
                    1 << UInt8.random(in: 0..<8, using: &generator)
            }
        case 1:  // cut off anywhere
            bytes.removeLast(Int.random(in: 1...bytes.count, using: &generator))
        case 2:  // bytes inserted or removed
            let index = inFrame(&generator)
            if Bool.random(using: &generator) {
                bytes.insert(
                    contentsOf: (0..<Int.random(in: 1...20, using: &generator)).map { _ in
                        UInt8.random(in: 0...255, using: &generator)
                    }, at: index)
            } else {
                bytes.removeSubrange(index..<min(bytes.count, index + Int.random(in: 1...20, using: &generator)))
            }
        case 3:  // pure noise
            bytes = (0..<Int.random(in: 0...200, using: &generator)).map { _ in
                UInt8.random(in: 0...255, using: &generator)
            }
        case 4, 5:  // damaged headers, re-sealed
            let headerStart = frame.offset + 12
            for _ in 0..<Int.random(in: 1...3, using: &generator) {
                let index = headerStart + Int.random(in: 0..<frame.headersLength, using: &generator)
                bytes[index] =
                    Bool.random(using: &generator)
                    ? UInt8.random(in: 0...255, using: &generator) : UInt8.random(in: 0...12, using: &generator)
            }
            resealFrame(&bytes, at: frame.offset)
        case 6:  // a different headers_length, re-sealed
            let headersLength = UInt32.random(in: 0...UInt32(frame.totalLength), using: &generator)
            withUnsafeBytes(of: headersLength.bigEndian) {
                bytes.replaceSubrange((frame.offset + 4)..<(frame.offset + 8), with: $0)
            }
            resealFrame(&bytes, at: frame.offset)
        case 7:  // a different total_length, re-sealed prelude
            let totalLength =
                Bool.random(using: &generator)
                ? UInt32.random(in: 0...UInt32(frame.totalLength + 64), using: &generator)
                : UInt32.random(in: 0...UInt32.max, using: &generator)
            withUnsafeBytes(of: totalLength.bigEndian) {
                bytes.replaceSubrange(frame.offset..<(frame.offset + 4), with: $0)
            }
            resealFrame(&bytes, at: frame.offset)
        default:  // damaged payload, re-sealed: still a valid frame
            bytes[frame.offset + frame.totalLength - 5] ^= 0xFF
            resealFrame(&bytes, at: frame.offset)
        }
        return bytes
    }
}
