import NIOCore
import Synchronization

/// One stream connection's outbound queue: encoded messages (buffers shared with every other
/// subscriber) waiting for its writer, bounded in count and bytes.
///
/// The hub appends without ever waiting; past a bound the queue is emptied at once (so a client
/// that does not read holds no more than the bound) and the client is marked dropped.
final class LiveClient: Sendable {
    /// Why a client's queue ended.
    enum End: Sendable, Equatable {
        /// It did not read fast enough: its queue passed a bound.
        case tooSlow
        /// The connection is closing for another reason.
        case closed
    }

    /// What the writer gets next.
    enum Next: Sendable {
        case messages([ByteBuffer])
        case ended(End)
    }

    private struct State {
        var queue = CircularBuffer<ByteBuffer>()
        /// Messages queued or taken by the writer and not yet written.
        var count = 0
        /// Their bytes.
        var bytes = 0
        var waiter: CheckedContinuation<Next, Never>?
        var end: End?
        /// The most the queue held, for the tests and the benchmark.
        var highWaterBytes = 0
        var highWaterCount = 0
    }

    let id: UInt64
    let maxMessages: Int
    let maxBytes: Int
    private let state = Mutex(State())

    init(id: UInt64, maxMessages: Int, maxBytes: Int) {
        self.id = id
        self.maxMessages = maxMessages
        self.maxBytes = maxBytes
    }

    /// Queues a message without waiting.
    ///
    /// - Returns: `false` when this message would pass a bound: the queue is then emptied and the
    ///   client ended as ``End/tooSlow`` (the caller reports the drop). Also `false`, without a
    ///   drop, when the client has already ended.
    func enqueue(_ buffer: ByteBuffer) -> EnqueueResult {
        let size = buffer.readableBytes
        let (result, waiter): (EnqueueResult, CheckedContinuation<Next, Never>?) = self.state.withLock { state in
            guard state.end == nil else { return (.ended, nil) }
            // One message is always taken when nothing waits, so a message larger than the byte
            // bound (a whole large fleet) does not drop every client.
            let overBound = state.count + 1 > self.maxMessages || (state.bytes + size > self.maxBytes && state.count > 0)
            if overBound {
                state.queue.removeAll()
                state.count = 0
                state.bytes = 0
                state.end = .tooSlow
                let waiter = state.waiter
                state.waiter = nil
                return (.dropped, waiter)
            }
            state.count += 1
            state.bytes += size
            state.highWaterBytes = max(state.highWaterBytes, state.bytes)
            state.highWaterCount = max(state.highWaterCount, state.count)
            if let waiter = state.waiter {
                state.waiter = nil
                return (.queued, waiter)  // handed straight to the waiting writer below
            }
            state.queue.append(buffer)
            return (.queued, nil)
        }
        switch result {
        case .dropped: waiter?.resume(returning: .ended(.tooSlow))
        case .queued: waiter?.resume(returning: .messages([buffer]))
        case .ended: break
        }
        return result
    }

    enum EnqueueResult: Equatable {
        case queued
        /// Past a bound: the client is now ended as too slow.
        case dropped
        /// Ended before.
        case ended
    }

    /// Everything queued (waiting for it when nothing is), or how the queue ended. Returns
    /// ``Next/ended(_:)`` with ``End/closed`` when the calling task is cancelled.
    func next() async -> Next {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Next, Never>) in
                let ready: Next? = self.state.withLock { state in
                    if let end = state.end { return .ended(end) }
                    if !state.queue.isEmpty {
                        let all = Array(state.queue)
                        state.queue.removeAll(keepingCapacity: true)
                        // They stay counted until the writer reports them written (see `written`).
                        return .messages(all)
                    }
                    if Task.isCancelled {
                        state.end = .closed
                        return .ended(.closed)
                    }
                    state.waiter = continuation
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            self.end(.closed)
        }
    }

    /// The writer has written one message of `bytes` taken with ``next()``: it no longer counts
    /// against the bounds.
    func written(_ bytes: Int) {
        self.state.withLock { state in
            guard state.end == nil else { return }
            state.count -= 1
            state.bytes -= bytes
        }
    }

    /// Ends the queue (the connection is closing); a waiting writer wakes with ``Next/ended(_:)``.
    func end(_ end: End) {
        let waiter: CheckedContinuation<Next, Never>? = self.state.withLock { state in
            if state.end == nil { state.end = end }
            state.queue.removeAll()
            state.count = 0
            state.bytes = 0
            let waiter = state.waiter
            state.waiter = nil
            return waiter
        }
        waiter?.resume(returning: .ended(self.state.withLock { $0.end ?? end }))
    }

    /// Bytes queued or being written now.
    var queuedBytes: Int { self.state.withLock { $0.bytes } }
    /// The most bytes the queue has held.
    /// The most bytes and messages the queue has held (queued or being written).
    var highWater: (bytes: Int, messages: Int) { self.state.withLock { ($0.highWaterBytes, $0.highWaterCount) } }
}
