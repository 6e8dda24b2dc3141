import Foundation
import Testing
@testable import VigilStore

@Suite("Store on SQLite and PostgreSQL: users and sessions", .postgres)
struct StoreUserTests {
    static func user(_ name: String, _ role: UserRole) -> UserRecord {
        UserRecord(name: name, role: role, passwordHash: "$2b$04$hash-of-\(name)", createdAt: date(1000), updatedAt: date(1000))
    }

    static func digest(_ byte: UInt8) -> [UInt8] { [UInt8](repeating: byte, count: 32) }

    @Test("users are created once, listed by name, changed and removed; the hash is kept, never the password", arguments: StoreBackend.allCases)
    func users(backend: StoreBackend) async throws {
        try await withStore(backend) { (store) async throws in
            #expect(try await store.userCount() == 0)
            #expect(try await store.createFirstUser(Self.user("root", .admin)))
            #expect(try await !store.createFirstUser(Self.user("second", .admin)), "only when no user exists")
            try await store.createUser(Self.user("bob", .viewer))
            await #expect(throws: UserStoreError.duplicate("bob")) { try await store.createUser(Self.user("bob", .admin)) }
            #expect(try await store.users().map(\.name) == ["bob", "root"])
            let updated = try await store.updateUser(named: "bob", role: .operator, passwordHash: "$2b$04$new", at: date(2000))
            #expect(updated.role == .operator && updated.passwordHash == "$2b$04$new" && updated.updatedAt == date(2000) && updated.createdAt == date(1000))
            #expect(try await store.user(named: "bob") == updated)
            await #expect(throws: UserStoreError.notFound("nobody")) { try await store.updateUser(named: "nobody", role: .admin, passwordHash: nil, at: date(2000)) }
            _ = try await store.deleteUser(named: "bob", at: date(2000))
            #expect(try await store.user(named: "bob") == nil)
        }
    }

    @Test("the last admin can be neither demoted nor removed; with two, one can", arguments: StoreBackend.allCases)
    func lastAdmin(backend: StoreBackend) async throws {
        try await withStore(backend) { (store) async throws in
            try await store.createUser(Self.user("root", .admin))
            await #expect(throws: UserStoreError.lastAdmin("root")) { try await store.updateUser(named: "root", role: .operator, passwordHash: nil, at: date(2000)) }
            await #expect(throws: UserStoreError.lastAdmin("root")) { try await store.deleteUser(named: "root", at: date(2000)) }
            _ = try await store.updateUser(named: "root", role: .admin, passwordHash: "$2b$04$x", at: date(2000))  // no demotion: fine
            try await store.createUser(Self.user("other", .admin))
            _ = try await store.updateUser(named: "root", role: .viewer, passwordHash: nil, at: date(2000))
            await #expect(throws: UserStoreError.lastAdmin("other")) { try await store.deleteUser(named: "other", at: date(2000)) }
        }
    }

    @Test("two admins removed at the same time: one goes, the other stays as the last admin", arguments: StoreBackend.allCases)
    func lastAdminConcurrent(backend: StoreBackend) async throws {
        try await withStore(backend) { (store) async throws in
            try await store.createUser(Self.user("root", .admin))
            try await store.createUser(Self.user("other", .admin))
            let refused = await withTaskGroup(of: Bool.self) { group in
                for name in ["root", "other"] {
                    group.addTask {
                        do {
                            _ = try await store.deleteUser(named: name, at: date(2000))
                            return false
                        } catch {
                            return error as? UserStoreError == .lastAdmin(name)
                        }
                    }
                }
                return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(refused == 1)
            #expect(try await store.users().filter { $0.role == .admin }.count == 1)
        }
    }

    @Test("a refresh token is spent once; presenting it again ends the session; deleting a user ends theirs", arguments: StoreBackend.allCases)
    func refreshRotation(backend: StoreBackend) async throws {
        try await withStore(backend) { (store) async throws in
            try await store.createUser(Self.user("ann", .viewer))
            try await store.createUser(Self.user("root", .admin))
            let session = UserSession(id: "s1", userName: "ann", createdAt: date(1000), expiresAt: date(5000))
            try await store.createSession(session, refreshDigest: Self.digest(1))
            #expect(try await store.activeSessions(at: date(1001)).map(\.id) == ["s1"])

            let first = try await store.rotateRefreshToken(digest: Self.digest(1), newDigest: Self.digest(2), newExpiresAt: date(6000), at: date(1100))
            #expect(first == .rotated(UserSession(id: "s1", userName: "ann", createdAt: date(1000), expiresAt: date(6000))))
            #expect(try await store.rotateRefreshToken(digest: Self.digest(9), newDigest: Self.digest(3), newExpiresAt: date(6000), at: date(1100)) == .invalid)
            // The spent token again: reuse, and the session (with its current token) is over.
            #expect(try await store.rotateRefreshToken(digest: Self.digest(1), newDigest: Self.digest(3), newExpiresAt: date(6000), at: date(1200)) == .reused(sessionID: "s1"))
            #expect(try await store.activeSessions(at: date(1201)).isEmpty)
            #expect(try await store.rotateRefreshToken(digest: Self.digest(2), newDigest: Self.digest(4), newExpiresAt: date(6000), at: date(1300)) == .invalid)

            // Expiry: a token past its session's expiry is refused.
            try await store.createSession(UserSession(id: "s2", userName: "ann", createdAt: date(1000), expiresAt: date(2000)), refreshDigest: Self.digest(5))
            #expect(try await store.rotateRefreshToken(digest: Self.digest(5), newDigest: Self.digest(6), newExpiresAt: date(9000), at: date(2001)) == .invalid)

            try await store.createSession(UserSession(id: "s3", userName: "ann", createdAt: date(1000), expiresAt: date(9000)), refreshDigest: Self.digest(7))
            try await store.createSession(UserSession(id: "s4", userName: "ann", createdAt: date(1000), expiresAt: date(9000)), refreshDigest: Self.digest(8))
            try await store.createSession(UserSession(id: "r1", userName: "root", createdAt: date(1000), expiresAt: date(9000)), refreshDigest: Self.digest(10))
            #expect(try await store.endSessions(userName: "ann", keeping: "s3", at: date(3000)) == ["s4"])
            #expect(try await store.endSession(id: "s3", at: date(3000)))
            #expect(try await !store.endSession(id: "s3", at: date(3001)), "already ended")
            try await store.createSession(UserSession(id: "s5", userName: "ann", createdAt: date(3000), expiresAt: date(9000)), refreshDigest: Self.digest(11))
            #expect(try await store.deleteUser(named: "ann", at: date(3100)) == ["s5"])
            #expect(try await store.activeSessions(at: date(3200)).map(\.id) == ["r1"])
            #expect(try await store.rotateRefreshToken(digest: Self.digest(11), newDigest: Self.digest(12), newExpiresAt: date(9000), at: date(3200)) == .invalid)
            try await store.pruneSessions(before: date(9500))
            #expect(try await store.activeSessions(at: date(1000)).isEmpty, "pruned sessions are gone")
        }
    }

    @Test("the token-signing secret is 32 random bytes, created once and kept across reopening")
    func signingSecret() async throws {
        try await withStore { store, directory in
            let secret = try await store.tokenSigningSecret()
            #expect(secret.count == 32)
            #expect(try await store.tokenSigningSecret() == secret)
            let reopened = try SQLiteStore(directory: directory)
            #expect(try await reopened.tokenSigningSecret() == secret)
            let other = try SQLiteStore(inMemory: ())
            #expect(try await other.tokenSigningSecret() != secret)
        }
    }
}
