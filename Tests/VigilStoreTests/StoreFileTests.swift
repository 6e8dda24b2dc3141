import Foundation
import Testing
@testable import VigilStore

@Suite("Store on SQLite and PostgreSQL: file catalog", .postgres)
struct StoreFileTests {
    func file(_ name: String, sender: String, size: UInt64, at seconds: Double) -> StoredFile {
        StoredFile(
            id: StoredFile.newID(now: date(seconds)), transferID: UUID().uuidString.lowercased(), sender: sender, recipient: nil,
            filename: name, storedPath: "\(sender)/\(name)", size: size, sha256: String(repeating: "a", count: 64), createdAt: date(seconds)
        )
    }

    @Test("records, finds by id and transfer id, sums per sender, pages newest first", arguments: StoreBackend.allCases)
    func roundTrip(backend: StoreBackend) async throws {
        try await withStore(backend) { (store) async throws in
            let a = file("a.txt", sender: "web-1", size: 10, at: 1_700_000_000)
            let b = file("b.txt", sender: "db-2", size: 20, at: 1_700_000_001)
            let c = file("c.txt", sender: "web-1", size: 30, at: 1_700_000_002)
            for f in [a, b, c] { #expect(try await store.recordFile(f) == f) }
            #expect(try await store.file(id: b.id) == b)
            #expect(try await store.file(transferID: c.transferID) == c)
            #expect(try await store.file(id: "nope") == nil)
            #expect(try await store.storedBytes(sender: "web-1") == 40)
            #expect(try await store.storedBytes(sender: "nobody") == 0)
            #expect(try await store.files(sender: nil, before: nil, limit: 10).map(\.filename) == ["c.txt", "b.txt", "a.txt"])
            #expect(try await store.files(sender: "web-1", before: nil, limit: 10).map(\.filename) == ["c.txt", "a.txt"])
            #expect(try await store.files(sender: nil, before: c.id, limit: 1).map(\.filename) == ["b.txt"])
        }
    }

    @Test("a second record of one transfer returns the first", arguments: StoreBackend.allCases)
    func duplicateTransfer(backend: StoreBackend) async throws {
        try await withStore(backend) { (store) async throws in
            let first = file("a.txt", sender: "web-1", size: 10, at: 1_700_000_000)
            var second = file("a (2).txt", sender: "web-1", size: 10, at: 1_700_000_001)
            second.transferID = first.transferID
            #expect(try await store.recordFile(first) == first)
            #expect(try await store.recordFile(second) == first)
            #expect(try await store.files(sender: nil, before: nil, limit: 10).count == 1)
        }
    }

    @Test("ids are version 7 UUIDs that sort by time")
    func ids() {
        let early = StoredFile.newID(now: date(1_700_000_000))
        let late = StoredFile.newID(now: date(1_700_000_000.002))
        #expect(early < late)
        #expect(UUID(uuidString: early) != nil)
        #expect(early == early.lowercased())
        #expect(Array(early)[14] == "7")
    }
}
