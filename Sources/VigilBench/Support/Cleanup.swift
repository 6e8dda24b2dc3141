import Dispatch
import Foundation
import Synchronization

/// What must not outlive the benchmark: child processes and temporary directories.
///
/// Normal exits clean up through `defer`; SIGINT and SIGTERM come here, kill the children, delete
/// the directories and exit with 128 + the signal. (A SIGKILL of the benchmark cannot be caught:
/// the server is started with a parent-death signal for that, see ``ServerProcess``.)
final class Cleanup: Sendable {
    static let shared = Cleanup()

    private struct State {
        var pids: Set<pid_t> = []
        var directories: Set<String> = []
    }

    private let state = Mutex(State())
    private let interruptedFlag = Atomic<Bool>(false)

    /// Whether SIGINT or SIGTERM arrived (the handler is then stopping everything and exiting).
    var interrupted: Bool { self.interruptedFlag.load(ordering: .relaxed) }

    func add(pid: pid_t) { self.state.withLock { _ = $0.pids.insert(pid) } }
    func remove(pid: pid_t) { self.state.withLock { _ = $0.pids.remove(pid) } }
    func add(directory: String) { self.state.withLock { _ = $0.directories.insert(directory) } }
    func remove(directory: String) { self.state.withLock { _ = $0.directories.remove(directory) } }

    /// Routes SIGINT and SIGTERM to ``runNow(signal:)``. Call once, early.
    func installSignalHandlers() {
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { Cleanup.shared.runNow(signal: signalNumber) }
            source.resume()
            signalSources.append(source)
        }
    }

    /// Kills every registered child, deletes every registered directory, exits.
    func runNow(signal signalNumber: Int32) -> Never {
        self.interruptedFlag.store(true, ordering: .relaxed)
        let (pids, directories) = self.state.withLock { ($0.pids, $0.directories) }
        FileHandle.standardError.write(Data("vigil-bench: interrupted (signal \(signalNumber)); stopping \(pids.count) process(es), deleting \(directories.count) directory(ies)\n".utf8))
        for pid in pids {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
        for directory in directories {
            try? FileManager.default.removeItem(atPath: directory)
        }
        exit(128 + signalNumber)
    }
}

/// The signal sources, kept alive for the whole run (written only by `installSignalHandlers`, once, at start).
nonisolated(unsafe) private var signalSources: [any DispatchSourceSignal] = []

/// A failure the benchmark reports in one line and exits non-zero for.
struct BenchmarkError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Polls `condition` every `interval` until it returns a value, or fails after `timeout` with
/// `what` in the message (every wait of the benchmark is bounded).
func waitFor<T: Sendable>(
    _ what: String, timeout: Duration, interval: Duration = .milliseconds(100),
    _ condition: () async throws -> T?
) async throws -> T {
    let deadline = ContinuousClock.now + timeout
    while true {
        if let value = try await condition() { return value }
        guard ContinuousClock.now < deadline else {
            throw BenchmarkError("timed out after \(timeout) waiting for \(what)")
        }
        try await Task.sleep(for: interval)
    }
}
