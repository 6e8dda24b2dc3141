import Synchronization

/// A one-way "please stop" that any thread can raise (a signal handler, a service group) and that
/// the agent's loops observe without relying on task cancellation, so the agent can still send its
/// goodbye after the request.
public final class ShutdownSignal: Sendable {
    private struct State {
        var requested = false
        var nextID: UInt64 = 0
        var handlers: [UInt64: @Sendable () -> Void] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    public var isRequested: Bool { self.state.withLock { $0.requested } }

    /// Raises the signal; handlers run once, on the caller's thread.
    public func request() {
        let handlers = self.state.withLock { state -> [@Sendable () -> Void] in
            guard !state.requested else { return [] }
            state.requested = true
            defer { state.handlers.removeAll() }
            return Array(state.handlers.values)
        }
        handlers.forEach { $0() }
    }

    /// Calls `handler` when the signal is raised (at once if it already was).
    /// - Returns: A token for ``removeHandler(_:)``, or `nil` when the handler already ran.
    @discardableResult
    func onRequest(_ handler: @escaping @Sendable () -> Void) -> UInt64? {
        let id = self.state.withLock { state -> UInt64? in
            guard !state.requested else { return nil }
            state.nextID += 1
            state.handlers[state.nextID] = handler
            return state.nextID
        }
        if id == nil { handler() }
        return id
    }

    func removeHandler(_ id: UInt64?) {
        guard let id else { return }
        _ = self.state.withLock { $0.handlers.removeValue(forKey: id) }
    }

    /// Sleeps for `duration`, returning early if the signal is raised.
    func sleep(for duration: Duration) async {
        let (stream, continuation) = AsyncStream<Void>.makeStream()
        let id = self.onRequest { continuation.finish() }
        defer { self.removeHandler(id) }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await Task.sleep(for: duration) }
            group.addTask { for await _ in stream {} }
            await group.next()
            group.cancelAll()
            continuation.finish()
        }
    }
}
