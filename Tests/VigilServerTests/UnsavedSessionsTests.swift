import Foundation
import Testing
import VigilStore
@testable import VigilServer

/// Sessions kept in memory while the disk was full are written later; a sign-out or a refresh that
/// happens while one is being written must reach the stored row (an ended session must not come
/// back at the next reload).
@Suite("Unsaved sessions")
struct UnsavedSessionsTests {
    static func entry(_ id: String, digest: UInt8) -> UnsavedSessions.Entry {
        let now = Date()
        return .init(session: UserSession(id: id, userName: "alice", createdAt: now, expiresAt: now.addingTimeInterval(3600)), refreshDigest: [digest])
    }

    @Test("after a write: unchanged is forgotten; signed out meanwhile says ended; refreshed meanwhile gives the new token")
    func written() {
        let sessions = UnsavedSessions()
        for (id, digest) in [("kept", UInt8(1)), ("ended", 2), ("refreshed", 3)] {
            let entry = Self.entry(id, digest: digest)
            sessions.add(entry.session, refreshDigest: entry.refreshDigest)
        }
        let snapshot = Dictionary(uniqueKeysWithValues: sessions.all.map { ($0.session.id, $0) })
        // While "being written": one signs out, one refreshes.
        sessions.remove("ended")
        _ = sessions.rotate(digest: [3], newDigest: [4], newExpiresAt: Date().addingTimeInterval(7200), at: Date())

        guard case .stored = sessions.written(snapshot["kept"]!) else { Issue.record("kept: not stored"); return }
        guard case .ended = sessions.written(snapshot["ended"]!) else { Issue.record("ended: not ended"); return }
        guard case .refreshed(let current) = sessions.written(snapshot["refreshed"]!) else { Issue.record("refreshed: not refreshed"); return }
        #expect(current.refreshDigest == [4])
        guard case .stored = sessions.written(current) else { Issue.record("refreshed, written again: not stored"); return }
        #expect(sessions.isEmpty)
    }
}
