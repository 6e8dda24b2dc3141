import Foundation
import Synchronization
import VigilStore

/// Sessions started while the disk was full: held in memory so sign-in works, and written to the
/// store by the next reload that finds room (``UserService``'s `run` loop, every
/// `auth.reload_interval`). Until written they survive reloads (which merge them back in), and
/// their refresh tokens are checked here; a restart before then ends them (sign in again).
final class UnsavedSessions: Sendable {
    struct Entry: Sendable {
        var session: UserSession
        var refreshDigest: [UInt8]
    }

    private let entries = Mutex<[String: Entry]>([:])

    func add(_ session: UserSession, refreshDigest: [UInt8]) {
        self.entries.withLock { $0[session.id] = Entry(session: session, refreshDigest: refreshDigest) }
    }

    /// Every unsaved session still active at `now` (expired ones are forgotten).
    func active(at now: Date) -> [UserSession] {
        self.entries.withLock { entries in
            entries = entries.filter { $0.value.session.isActive(at: now) }
            return entries.values.map(\.session)
        }
    }

    /// Forgets a session (signed out, or written to the store). Returns whether it was here.
    @discardableResult
    func remove(_ id: String) -> Bool {
        self.entries.withLock { $0.removeValue(forKey: id) != nil }
    }

    /// Forgets a user's sessions (password changed, user removed), but `keeping`. Returns their ids.
    func remove(userName: String, keeping: String?) -> [String] {
        self.entries.withLock { entries in
            let ids = entries.values.filter { $0.session.userName == userName && $0.session.id != keeping }.map(\.session.id)
            for id in ids { entries.removeValue(forKey: id) }
            return ids
        }
    }

    /// What became of a session while it was being written to the store.
    enum Written: Sendable {
        /// Unchanged: it is forgotten here, the store has it.
        case stored
        /// Signed out, or its user's sessions ended, meanwhile: the store's row must be ended too
        /// (the ending found no row to end).
        case ended
        /// Refreshed meanwhile: the store's row must take this entry's token (and it is still here).
        case refreshed(Entry)
    }

    /// After `entry` was written to the store: forgets it if it is unchanged, else says what to do.
    func written(_ entry: Entry) -> Written {
        self.entries.withLock { entries in
            guard let current = entries[entry.session.id] else { return .ended }
            guard current.refreshDigest == entry.refreshDigest else { return .refreshed(current) }
            entries.removeValue(forKey: entry.session.id)
            return .stored
        }
    }

    var isEmpty: Bool { self.entries.withLock { $0.isEmpty } }

    var all: [Entry] { self.entries.withLock { Array($0.values) } }

    /// Spends a refresh token of an unsaved session for a new one, as the store would.
    func rotate(digest: [UInt8], newDigest: [UInt8], newExpiresAt: Date, at now: Date) -> UserSession? {
        self.entries.withLock { entries in
            guard let (id, entry) = entries.first(where: { $0.value.refreshDigest == digest }), entry.session.isActive(at: now) else { return nil }
            var session = entry.session
            session.expiresAt = newExpiresAt
            entries[id] = Entry(session: session, refreshDigest: newDigest)
            return session
        }
    }
}
