import Foundation
import NIOCore
import Synchronization

/// Which transfer ids are being received right now, and by which connection.
///
/// A transfer id is written by one connection at a time: a second connection of the same sender
/// offering it gets `transfer_busy`, unless the first is already closing (its partial being fsynced
/// for a resume), in which case the offer waits for it. Another sender's offer of an id held here is
/// ``Outcome/inUse``: it never waits for, nor learns anything about, the holder. Claims also reserve quota and disk for offers not yet
/// complete, and keep the partial cleaner away from open transfers.
final class TransferClaims: Sendable {
    /// The cleaner's owner id (connection ids start at 1).
    static let cleaner: UInt64 = 0

    enum Outcome {
        case claimed
        /// Open on another live connection.
        case busy
        /// Held by a connection that is closing; completed when released.
        case releasing(EventLoopFuture<Void>)
        /// Held for another sender (transfer ids are the senders'; one cannot take over another's).
        case inUse
    }

    private struct Claim {
        var owner: UInt64
        var sender: String
        var size: UInt64
        var closing = false
        var waiters: [EventLoopPromise<Void>] = []
    }

    private struct State {
        var claims: [UUID: Claim] = [:]
        var idleWaiters: [CheckedContinuation<Void, Never>] = []
        /// Shutdown gave up waiting: idle waits return at once.
        var gaveUp = false
    }

    private let state = Mutex(State())

    /// Claims `id` for `owner`.
    func claim(_ id: UUID, owner: UInt64, sender: String, size: UInt64, eventLoop: any EventLoop) -> Outcome {
        self.state.withLock { state in
            guard let held = state.claims[id] else {
                state.claims[id] = Claim(owner: owner, sender: sender, size: size)
                return .claimed
            }
            // The cleaner (no sender) holds ids only for a moment: an offer then is just busy.
            if held.owner != Self.cleaner, owner != Self.cleaner, held.sender != sender { return .inUse }
            guard held.closing else { return .busy }
            let promise = eventLoop.makePromise(of: Void.self)
            state.claims[id]?.waiters.append(promise)
            return .releasing(promise.futureResult)
        }
    }

    /// The owner's connection has closed: the claim goes once its partial is safely closed.
    func markClosing(_ id: UUID, owner: UInt64) {
        self.state.withLock { state in
            if state.claims[id]?.owner == owner { state.claims[id]?.closing = true }
        }
    }

    func release(_ id: UUID, owner: UInt64) {
        let (waiters, idle): ([EventLoopPromise<Void>], [CheckedContinuation<Void, Never>]) = self.state.withLock { state in
            guard let claim = state.claims[id], claim.owner == owner else { return ([], []) }
            state.claims[id] = nil
            var idle: [CheckedContinuation<Void, Never>] = []
            if state.claims.isEmpty { swap(&idle, &state.idleWaiters) }
            return (claim.waiters, idle)
        }
        for waiter in waiters { waiter.succeed() }
        for continuation in idle { continuation.resume() }
    }

    /// Bytes of `sender`'s open transfers other than `id` (they count against its quota).
    func reservedBytes(sender: String, excluding id: UUID) -> UInt64 {
        self.state.withLock { state in
            state.claims.reduce(0) { sum, entry in entry.key != id && entry.value.sender == sender ? FileService.saturatingSum(sum, entry.value.size) : sum }
        }
    }

    /// Bytes every open transfer other than `id` may still write (an upper bound: whole sizes).
    func reservedDisk(excluding id: UUID) -> UInt64 {
        self.state.withLock { state in
            state.claims.reduce(0) { sum, entry in entry.key != id ? FileService.saturatingSum(sum, entry.value.size) : sum }
        }
    }

    var count: Int { self.state.withLock { $0.claims.count } }

    /// Returns `true` once no transfer is claimed (every connection's partial closed), or `false`
    /// after `timeout`. Not ended by cancelling the caller: shutdown must still wait for partials to
    /// be made durable.
    func waitUntilIdle(timeout: Duration) async -> Bool {
        // A detached task, awaited by value: cancelling the caller (a service group cancelled rather
        // than shut down gracefully) neither cancels it nor ends the wait early, as iterating an
        // AsyncStream in a cancelled task would.
        await Task.detached {
            await withTaskGroup(of: Bool.self) { group in
                group.addTask {
                    await self.idle()
                    return true
                }
                group.addTask {
                    try? await Task.sleep(for: timeout)
                    return false
                }
                let idle = await group.next() ?? false
                if !idle { self.abandonIdleWaiters() }  // lets the idle waiter above return
                group.cancelAll()  // stops the timer when idle came first
                return idle
            }
        }.value
    }

    private func idle() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let idle = self.state.withLock { state -> Bool in
                if state.claims.isEmpty || state.gaveUp { return true }
                state.idleWaiters.append(continuation)
                return false
            }
            if idle { continuation.resume() }
        }
    }

    /// Resumes every idle waiter (shutdown gave up waiting).
    private func abandonIdleWaiters() {
        let waiters = self.state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.gaveUp = true
            defer { state.idleWaiters = [] }
            return state.idleWaiters
        }
        for waiter in waiters { waiter.resume() }
    }
}
