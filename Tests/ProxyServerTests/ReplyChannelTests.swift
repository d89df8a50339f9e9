import Synchronization
import Testing
import Translation

@testable import ProxyServer

@Suite("The pump-to-writer channel: batches, back-pressure, hang-ups")
struct ReplyChannelTests {
    static func text(_ value: String) -> PumpMessage { .events([.textDelta(index: 0, text: value)]) }

    static func texts(_ batch: ReplyChannel.Batch?) -> [String] {
        (batch?.messages ?? []).flatMap { message -> [String] in
            guard case .events(let events) = message else { return [] }
            return events.compactMap { if case .textDelta(_, let text) = $0 { text } else { nil } }
        }
    }

    @Test("everything the pump sent since the last wait comes out in one batch, in order")
    func drainTakesEverything() async {
        let channel = ReplyChannel(capacity: 8)
        for word in ["a", "b", "c"] { #expect(await channel.send(Self.text(word))) }
        #expect(Self.texts(await channel.drain()) == ["a", "b", "c"])
        channel.finish()
        #expect(await channel.drain() == nil)
    }

    @Test("a full channel holds the pump until the writer takes something (back-pressure)")
    func backPressure() async throws {
        let channel = ReplyChannel(capacity: 2)
        let sent = Atomic<Int>(0)
        let pump = Task {
            for index in 0..<5 {
                guard await channel.send(Self.text("\(index)")) else { return }
                sent.add(1, ordering: .relaxed)
            }
            channel.finish()
        }
        // The pump gets exactly `capacity` messages in, then waits.
        let deadline = ContinuousClock.now + .seconds(5)
        while sent.load(ordering: .relaxed) < 2, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        try await Task.sleep(for: .milliseconds(50))
        #expect(sent.load(ordering: .relaxed) == 2)
        var received: [String] = []
        while let batch = await channel.drain() { received += Self.texts(batch) }
        #expect(received == ["0", "1", "2", "3", "4"])
        await pump.value
    }

    @Test("a writer that goes away releases a waiting pump, and later sends are refused")
    func closeReleasesThePump() async {
        let channel = ReplyChannel(capacity: 1)
        #expect(await channel.send(Self.text("fills it")))
        let pump = Task { await channel.send(Self.text("waits")) }
        try? await Task.sleep(for: .milliseconds(20))
        channel.close()
        #expect(await pump.value == false)
        #expect(await channel.send(Self.text("after")) == false)
        #expect(channel.isClosed)
    }

    @Test("a cancelled pump stops waiting for room")
    func cancelledPump() async {
        let channel = ReplyChannel(capacity: 1)
        #expect(await channel.send(Self.text("fills it")))
        let pump = Task { await channel.send(Self.text("waits")) }
        try? await Task.sleep(for: .milliseconds(20))
        pump.cancel()
        #expect(await pump.value == false)
    }

    @Test("a keep-alive tick wakes an idle writer, but not when messages are waiting")
    func ticks() async {
        let channel = ReplyChannel()
        channel.tick()
        let idle = await channel.drain()
        #expect(idle?.tick == true && idle?.messages.isEmpty == true)
        await channel.send(Self.text("x"))
        channel.tick()
        let busy = await channel.drain()
        #expect(busy?.tick == false && Self.texts(busy) == ["x"])
    }

    @Test("next() hands out one message at a time and skips ticks")
    func nextOneByOne() async {
        let channel = ReplyChannel()
        channel.tick()
        await channel.send(.opened(account: "a"))
        await channel.send(Self.text("y"))
        channel.finish()
        guard case .opened(let account) = await channel.next() else { Issue.record("expected opened"); return }
        #expect(account == "a")
        #expect(Self.texts(await channel.drain()) == ["y"])
        #expect(await channel.next() == nil)
    }

    @Test("a cancelled writer stops waiting")
    func cancelledWriter() async {
        let channel = ReplyChannel()
        let writer = Task { await channel.drain() }
        try? await Task.sleep(for: .milliseconds(20))
        writer.cancel()
        #expect(await writer.value == nil)
    }
}
