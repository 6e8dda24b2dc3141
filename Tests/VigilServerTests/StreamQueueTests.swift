import NIOCore
import Testing
@testable import VigilServer

/// One stream client's outbound queue (``LiveClient``) on its own: the bounds, the drop, and
/// that written messages stop counting.
@Suite("Live stream client queue")
struct StreamQueueTests {
    static func buffer(_ size: Int) -> ByteBuffer {
        ByteBuffer(repeating: UInt8(ascii: "x"), count: size)
    }

    @Test("past max messages the queue is emptied and the client ended as too slow")
    func messageBound() async {
        let client = LiveClient(id: 1, maxMessages: 3, maxBytes: 1 << 20)
        for _ in 0..<3 { #expect(client.enqueue(Self.buffer(10)) == .queued) }
        #expect(client.enqueue(Self.buffer(10)) == .dropped)
        #expect(client.queuedBytes == 0)
        #expect(client.enqueue(Self.buffer(10)) == .ended)
        guard case .ended(.tooSlow) = await client.next() else {
            Issue.record("the writer should see the drop")
            return
        }
        #expect(client.highWater.messages == 3)
        #expect(client.highWater.bytes == 30)
    }

    @Test("past max bytes the client is dropped; one message larger than the bound is taken when nothing waits")
    func byteBound() async {
        let client = LiveClient(id: 1, maxMessages: 100, maxBytes: 100)
        #expect(client.enqueue(Self.buffer(500)) == .queued)  // alone: taken
        #expect(client.enqueue(Self.buffer(1)) == .dropped)  // 501 > 100 with one waiting
        let other = LiveClient(id: 2, maxMessages: 100, maxBytes: 100)
        #expect(other.enqueue(Self.buffer(60)) == .queued)
        #expect(other.enqueue(Self.buffer(40)) == .queued)
        #expect(other.enqueue(Self.buffer(1)) == .dropped)
        #expect(other.highWater.bytes == 100)
    }

    @Test("messages taken by the writer count until written; then they free their room")
    func writtenFreesRoom() async {
        let client = LiveClient(id: 1, maxMessages: 2, maxBytes: 1 << 20)
        #expect(client.enqueue(Self.buffer(10)) == .queued)
        #expect(client.enqueue(Self.buffer(10)) == .queued)
        guard case .messages(let taken) = await client.next() else {
            Issue.record("expected the two messages")
            return
        }
        #expect(taken.count == 2)
        // Taken but not written (a socket that does not drain): still counted.
        #expect(client.queuedBytes == 20)
        client.written(10)
        #expect(client.enqueue(Self.buffer(10)) == .queued)
        #expect(client.enqueue(Self.buffer(10)) == .dropped)
    }

    @Test("a writer waiting on an empty queue gets the next message; a cancelled one ends the queue")
    func waitingWriter() async {
        let client = LiveClient(id: 1, maxMessages: 8, maxBytes: 1 << 20)
        let writer = Task { await client.next() }
        // Handed over if the writer already waits, queued if not: next() returns it either way.
        #expect(client.enqueue(Self.buffer(7)) == .queued)
        guard case .messages(let first) = await writer.value else {
            Issue.record("expected the message")
            return
        }
        #expect(first.map(\.readableBytes) == [7])
        let cancelled = Task { await client.next() }
        cancelled.cancel()
        guard case .ended(.closed) = await cancelled.value else {
            Issue.record("a cancelled writer should end the queue")
            return
        }
        #expect(client.enqueue(Self.buffer(1)) == .ended)
    }
}
