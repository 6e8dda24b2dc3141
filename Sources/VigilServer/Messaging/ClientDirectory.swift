import Synchronization
import VigilProtocol

/// Who is online: one registered connection per client id, newest wins.
///
/// Read and written from every event loop (registrations, `LIST_CLIENTS`) and from the message
/// writer (routing), so it sits behind one `Mutex` with short critical sections.
final class ClientDirectory: Sendable {
    struct Entry: Sendable {
        let clientID: String
        let kind: ClientKind
        /// When this connection registered, Unix seconds.
        let since: Double
        let session: SessionRef
        /// Closes the connection (a newer connection took the same id).
        let handle: ConnectionHandle
    }

    private let entries = Mutex<[String: Entry]>([:])

    /// Adds a connection. Returns the connection it replaces, if any, for the caller to close.
    func join(_ entry: Entry) -> Entry? {
        self.entries.withLock { entries in
            let previous = entries.updateValue(entry, forKey: entry.clientID)
            return previous?.session.connectionID == entry.session.connectionID ? nil : previous
        }
    }

    /// Removes a connection, unless a newer one of the same client has replaced it already.
    func leave(clientID: String, connectionID: UInt64) {
        self.entries.withLock { entries in
            if entries[clientID]?.session.connectionID == connectionID {
                entries[clientID] = nil
            }
        }
    }

    func entry(for clientID: String) -> Entry? {
        self.entries.withLock { $0[clientID] }
    }

    /// Every client online now.
    func all() -> [Entry] {
        self.entries.withLock { Array($0.values) }
    }

    var count: Int { self.entries.withLock { $0.count } }

    /// `CLIENT_LIST`: who is online, sorted by client id.
    func list() -> ClientListPayload {
        let clients = self.entries.withLock { entries in
            entries.values.map { ClientListPayload.Client(clientID: $0.clientID, kind: $0.kind, since: $0.since) }
        }
        return ClientListPayload(clients: clients.sorted { $0.clientID < $1.clientID })
    }
}
