import Foundation
import Logging
import Synchronization
import VigilProtocol
import VigilStore

/// Which clients are connected to take files the server passes on, and the files waiting for a
/// client whose delivery was interrupted.
///
/// A file is passed on only to a connected client. One whose connection drops before it has
/// answered `FILE_SAVED` is kept here and offered again (same transfer id, so the client resumes
/// its partial) when the client next registers with this server process. What waits here is not
/// kept across a server restart.
final class PushTargets: Sendable {
    /// A connected client's session, reachable from any thread.
    struct Target: Sendable {
        let connectionID: UInt64
        /// Hands a file to the session (hops to its event loop).
        let deliver: @Sendable (StoredFile) -> Void
    }

    /// Files kept per client at most; beyond, the oldest is dropped (with a log line).
    static let maxPendingPerClient = 1000

    private struct State {
        var targets: [String: Target] = [:]
        var pending: [String: [StoredFile]] = [:]
    }

    private let state = Mutex(State())
    private let logger: Logger

    init(logger: Logger) {
        self.logger = logger
    }

    /// A session of `clientID` is ready to take files (the newest connection wins). Returns the
    /// files that were waiting for it.
    func attach(_ clientID: String, _ target: Target) -> [StoredFile] {
        self.state.withLock { state in
            state.targets[clientID] = target
            return state.pending.removeValue(forKey: clientID) ?? []
        }
    }

    /// The session has closed (a newer one of the same client stays attached).
    func detach(_ clientID: String, connectionID: UInt64) {
        self.state.withLock { state in
            if state.targets[clientID]?.connectionID == connectionID { state.targets[clientID] = nil }
        }
    }

    func isOnline(_ clientID: String) -> Bool {
        self.state.withLock { $0.targets[clientID] != nil }
    }

    /// Offers `file` to `clientID` now if it is connected; otherwise keeps it for its next
    /// registration. Returns whether it was handed to a session.
    @discardableResult
    func push(_ file: StoredFile, to clientID: String) -> Bool {
        let target = self.state.withLock { state -> Target? in
            if let target = state.targets[clientID] { return target }
            Self.keep(file, for: clientID, in: &state, logger: self.logger)
            return nil
        }
        target?.deliver(file)
        return target != nil
    }

    /// Keeps `file` for `clientID`'s next connection without offering it now (its current session
    /// gave up waiting for an answer).
    func keepForNextConnection(_ file: StoredFile, for clientID: String) {
        self.state.withLock { state in Self.keep(file, for: clientID, in: &state, logger: self.logger) }
    }

    /// Files a closing session did not finish passing on, in order.
    func requeue(_ files: [StoredFile], for clientID: String) {
        guard !files.isEmpty else { return }
        let target = self.state.withLock { state -> Target? in
            if let target = state.targets[clientID] { return target }  // already back on a newer connection
            for file in files { Self.keep(file, for: clientID, in: &state, logger: self.logger) }
            return nil
        }
        if let target { files.forEach(target.deliver) }
    }

    private static func keep(_ file: StoredFile, for clientID: String, in state: inout State, logger: Logger) {
        var list = state.pending[clientID] ?? []
        list.removeAll { $0.id == file.id }
        list.append(file)
        if list.count > Self.maxPendingPerClient {
            let dropped = list.removeFirst()
            logger.warning("too many files waiting for a client; dropping the oldest", metadata: ["client": "\(clientID.logEscaped)", "file_id": "\(dropped.id)"])
        }
        state.pending[clientID] = list
    }
}
