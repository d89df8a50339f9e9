import Testing
import Translation

@testable import ProxyServer

@Suite("A shutdown ends open replies")
struct ReplyInterruptTests {
    @Test("interrupt: the unread events are dropped, the writer gets the error last, the pump's sends are refused")
    func interrupt() async {
        let channel = ReplyChannel(capacity: 4)
        #expect(await channel.send(.events([.textDelta(index: 0, text: "unread")])))
        channel.interrupt(.overloaded("the server is shutting down"))
        let batch = await channel.drain()
        guard case .failed(let error)? = batch?.messages.first, batch?.messages.count == 1 else {
            Issue.record("expected one failed message, got \(String(describing: batch?.messages))")
            return
        }
        #expect(error.kind == .overloaded)
        #expect(await channel.drain() == nil)
        #expect(await channel.send(.events([.textDelta(index: 0, text: "late")])) == false)
    }

    @Test("OpenReplies ends every tracked reply, and the ones that start later")
    func registry() async {
        let replies = OpenReplies()
        let first = ReplyChannel()
        let gone = ReplyChannel()
        replies.add(first)
        replies.add(gone)
        replies.remove(gone)
        #expect(replies.interruptAll(.overloaded("stop")) == 1)
        #expect(await first.next().map { if case .failed = $0 { true } else { false } } == true)
        let late = ReplyChannel()
        replies.add(late)
        #expect(await late.next().map { if case .failed = $0 { true } else { false } } == true)
        #expect(!gone.isClosed)
    }
}
