import Foundation
import Logging
import ProxyConfig
import ProxyModels
import Synchronization
import Testing

@testable import ProxyServer

@Suite("Stored responses in the state directory")
struct FileReplyArchiveTests {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("q2api-archive-\(UUID().uuidString)").path
    let clock = Clock()

    final class Clock: Sendable {
        let seconds = Atomic<Int64>(1_800_000_000)
        func advance(_ by: Int64) { seconds.add(by, ordering: .relaxed) }
        var now: @Sendable () -> Int64 { { self.seconds.load(ordering: .relaxed) } }
    }

    func archive(_ limits: ProxyConfig.Responses = .init()) -> FileReplyArchive {
        FileReplyArchive(root: directory, limits: limits, logger: Logger(label: "test"), now: clock.now)
    }

    func files() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
    }

    static func record(_ text: String) -> JSONValue { ["response": ["id": "x", "text": .string(text)], "input": [], "output": []] }

    @Test("a kept response is read back, also by the next process; a forgotten one is gone for both")
    func survivesRestart() async {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = archive()
        await first.keep("resp_1", Self.record("one"))
        await first.keep("resp_2", Self.record("two"))
        #expect(await first.forget("resp_2"))
        #expect(await first.forget("resp_2") == false)
        #expect(await first.record("resp_1") == Self.record("one"))

        let second = archive()
        #expect(await second.record("resp_1") == Self.record("one"))
        #expect(await second.record("resp_2") == nil)
        #expect(await second.count == 1)
    }

    @Test("past the retention a response is unknown, and its file is dropped at the next compaction")
    func retention() async {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let limits = ProxyConfig.Responses(retention: .seconds(3600))
        let first = archive(limits)
        await first.keep("resp_old", Self.record("old"))
        clock.advance(3601)
        #expect(await first.record("resp_old") == nil)
        // A new process starts a new file, and compacts the old one away: nothing in it is live.
        let second = archive(limits)
        await second.keep("resp_new", Self.record("new"))
        #expect(files().count == 1)
        #expect(await second.record("resp_new") == Self.record("new"))
    }

    @Test("files roll over at max_file_size; mostly dead files are compacted; max_size drops the oldest")
    func rollOverAndCompaction() async {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let big = String(repeating: "x", count: 3000)
        let archive = archive(.init(maxFileSize: 8192, maxSize: 1 << 20))
        for index in 0..<9 { await archive.keep("resp_\(index)", Self.record(big)) }
        #expect(files().count == 5, "two records a file")
        // Deleting most of the oldest files' records makes them worth compacting: their live lines move on.
        for index in 0..<5 where index != 2 { _ = await archive.forget("resp_\(index)") }
        await archive.compact()
        #expect(await archive.record("resp_2") == Self.record(big))
        #expect(await archive.record("resp_8") == Self.record(big))
        #expect(!files().contains("responses-00000001.jsonl"))

        let capped = self.archive(.init(maxFileSize: 8192, maxSize: 12_000))
        await capped.compact()
        let total = files().reduce(0) { $0 + ((try? FileManager.default.attributesOfItem(atPath: "\(directory)/\($1)")[.size] as? Int) ?? 0) }
        #expect(total <= 12_000)
        #expect(await capped.record("resp_8") == Self.record(big), "the newest responses stay")
        #expect(await capped.record("resp_2") == nil, "the oldest went first")
    }

    @Test("a line torn by a crash is skipped; everything before it is kept")
    func tornLine() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = archive()
        await first.keep("resp_ok", Self.record("ok"))
        let path = FileReplyArchive.path(directory, 1)
        let handle = try #require(FileHandle(forWritingAtPath: path))
        handle.seekToEndOfFile()
        handle.write(Data(#"{"id":"resp_torn","at":1800000000,"record":{"respo"#.utf8))
        try handle.close()
        let second = archive()
        #expect(await second.record("resp_ok") == Self.record("ok"))
        #expect(await second.record("resp_torn") == nil)
    }

    @Test("sharded instances sharing the state directory each write their own folder and read the others'")
    func sharded() async {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let unsharded = archive()
        await unsharded.keep("resp_before", Self.record("from before sharding"))
        let zero = FileReplyArchive(root: directory, shard: 0, limits: .init(), logger: Logger(label: "test"), now: clock.now)
        let one = FileReplyArchive(root: directory, shard: 1, limits: .init(), logger: Logger(label: "test"), now: clock.now)
        await zero.keep("resp_zero", Self.record("zero"))
        await one.keep("resp_one", Self.record("one"))
        #expect(files() == ["responses-00000001.jsonl", "shard-0", "shard-1"])
        // Each reads what the others wrote, also what they write later.
        #expect(await one.record("resp_zero") == Self.record("zero"))
        #expect(await zero.record("resp_one") == Self.record("one"))
        #expect(await zero.record("resp_before") == Self.record("from before sharding"))
        await zero.keep("resp_later", Self.record("later"))
        #expect(await one.record("resp_later") == Self.record("later"))
        // A delete on one instance holds on the other, also after both restart.
        #expect(await one.forget("resp_zero"))
        #expect(await zero.record("resp_zero") == nil)
        let zeroAgain = FileReplyArchive(root: directory, shard: 0, limits: .init(), logger: Logger(label: "test"), now: clock.now)
        let oneAgain = FileReplyArchive(root: directory, shard: 1, limits: .init(), logger: Logger(label: "test"), now: clock.now)
        #expect(await zeroAgain.record("resp_zero") == nil)
        #expect(await oneAgain.record("resp_zero") == nil)
        #expect(await oneAgain.record("resp_later") == Self.record("later"))
    }

    @Test("a delete lasts when the file that held it is compacted away, and after a restart")
    func deleteOutlivesCompaction() async {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let big = String(repeating: "x", count: 3000)
        let first = archive(.init(maxFileSize: 8192))
        await first.keep("resp_kept", Self.record("kept"))
        await first.keep("resp_gone", Self.record(big))
        #expect(await first.forget("resp_gone"))
        for index in 0..<6 { await first.keep("resp_filler\(index)", Self.record(big)) }
        await first.compact()
        let second = archive(.init(maxFileSize: 8192))
        await second.compact()
        #expect(await second.record("resp_gone") == nil)
        #expect(await second.record("resp_kept") == Self.record("kept"))
        #expect(await second.count == 7)
    }

    @Test("store: false keeps nothing")
    func storeOff() async {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let archive = archive(.init(store: false))
        await archive.keep("resp_1", Self.record("one"))
        #expect(await archive.record("resp_1") == nil)
        #expect(files().isEmpty)
    }
}
