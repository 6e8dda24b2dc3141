import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A started `postgres` process: whether it has exited, and stopping it with a signal while
/// waiting, without blocking a thread, until it is gone.
final class RunningServer: Sendable {
    private let state: Mutex<State>
    nonisolated(unsafe) private let process: Process  // touched only under `state`'s lock or before run()

    private struct State {
        var exited = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    /// Whether the process is `runuser` with the server as its child.
    private let viaRunuser: Bool

    init(process: Process, viaRunuser: Bool) {
        self.process = process
        self.viaRunuser = viaRunuser
        self.state = Mutex(State())
        process.terminationHandler = { [weak self] _ in self?.markExited() }
    }

    private func markExited() {
        let waiters = self.state.withLock { state in
            state.exited = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    var hasExited: Bool { self.state.withLock { $0.exited } }

    /// Sends `signal` to the server (through `runuser`, which passes it on) and waits for the exit;
    /// after 30 s it sends SIGKILL.
    func stop(signal: Int32) async {
        let pid = self.state.withLock { $0.exited ? 0 : self.process.processIdentifier }
        guard pid > 0 else { return }
        // Under `runuser` the postmaster is runuser's child, and runuser does not pass every
        // signal on: signal the postmaster itself.
        let target = self.viaRunuser ? (Self.child(of: pid) ?? pid) : pid
        kill(target, signal)
        let killer = Task {
            try await Task.sleep(for: .seconds(30))
            if let child = Self.child(of: pid) { kill(child, SIGKILL) }
            kill(pid, SIGKILL)
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = self.state.withLock { state in
                if state.exited { return true }
                state.waiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
        killer.cancel()
    }

    /// The first child process of `pid` (the postmaster under `runuser`), from /proc.
    private static func child(of pid: Int32) -> Int32? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8) else { return nil }
        return text.split(separator: " ").first.flatMap { Int32($0) }
    }
}
