import Foundation
import GRDB
import Testing
@testable import VigilStore

@Suite("Store on SQLite and PostgreSQL: agent keys", .postgres)
struct StoreKeyTests {
    /// The same token with one secret character changed (still well-formed).
    private func withAlteredSecret(_ token: String) throws -> String {
        let parsed = try #require(AgentKeyToken(token))
        var secret = Array(parsed.secret)
        secret[0] = secret[0] == "A" ? "B" : "A"
        return "vk_\(parsed.id)_\(String(secret))"
    }

    @Test("createKey returns a vk_<12>_<43> token whose id is the key's id", arguments: StoreBackend.allCases)
    func createKeyTokenShape(backend: StoreBackend) async throws {
        try await withStore(backend) { (store) async throws in
            let before = Date()
            let issued = try await store.createKey(hostname: "web-01")
            let after = Date()
            // `vk_` + 12 lowercase letters/digits + `_` + 43 base64url characters.
            let tokenShape = /vk_([a-z0-9]{12})_([A-Za-z0-9_\-]{43})/
            let match = try #require(issued.token.wholeMatch(of: tokenShape))
            #expect(String(match.output.1) == issued.key.id)
            #expect(issued.token.count == 59)  // 3 + 12 + 1 + 43
            #expect(issued.key.hostname == "web-01")
            #expect(issued.key.revokedAt == nil)
            #expect(issued.key.lastUsedAt == nil)
            #expect(issued.key.isRevoked == false)
            #expect(issued.key.createdAt >= before && issued.key.createdAt <= after)
            let parsed = try #require(AgentKeyToken(issued.token))
            #expect(parsed.id == issued.key.id)
            #expect(parsed.text == issued.token)
        }
    }

    @Test("two keys get different ids and secrets", arguments: StoreBackend.allCases)
    func keysAreDistinct(backend: StoreBackend) async throws {
        try await withStore(backend) { (store) async throws in
            let a = try await store.createKey(hostname: "h")
            let b = try await store.createKey(hostname: "h")
            #expect(a.key.id != b.key.id)
            #expect(AgentKeyToken(a.token)?.secret != AgentKeyToken(b.token)?.secret)
        }
    }

    @Test("verifyKey accepts a fresh token as valid with the right hostname, and records its use", arguments: StoreBackend.allCases)
    func verifyValid(backend: StoreBackend) async throws {
        try await withStore(backend) { (store) async throws in
            let issued = try await store.createKey(hostname: "web-01")
            _ = try await store.createKey(hostname: "db-01")
            let result = try await store.verifyKey(issued.token)
            let key = try #require(result.validKey, "expected .valid, got \(result)")
            #expect(key.id == issued.key.id)
            #expect(key.hostname == "web-01")
            #expect(key.revokedAt == nil)
            #expect(abs(key.createdAt.timeIntervalSince(issued.key.createdAt)) < 0.001)

            let before = Date().addingTimeInterval(-1)
            let listed = try #require(try await store.listKeys().first { $0.id == issued.key.id })
            let lastUsed = try #require(listed.lastUsedAt)
            #expect(lastUsed >= before && lastUsed <= Date().addingTimeInterval(1))
            let other = try #require(try await store.listKeys().first { $0.id != issued.key.id })
            #expect(other.lastUsedAt == nil)
        }
    }

    @Test("the right id with a wrong secret is unknown", arguments: StoreBackend.allCases)
    func verifyWrongSecret(backend: StoreBackend) async throws {
        try await withStore(backend) { (store) async throws in
            let issued = try await store.createKey(hostname: "web-01")
            let wrong = try self.withAlteredSecret(issued.token)
            #expect(wrong != issued.token)
            #expect(AgentKeyToken(wrong) != nil)  // well-formed, so not .malformed
            #expect(try await store.verifyKey(wrong) == .unknown)
            // A failed attempt does not count as a use.
            #expect(try await store.listKeys().first?.lastUsedAt == nil)
        }
    }

    @Test("a well-formed token with an unknown id is unknown", arguments: StoreBackend.allCases)
    func verifyUnknownID(backend: StoreBackend) async throws {
        try await withStore(backend) { (store) async throws in
            let issued = try await store.createKey(hostname: "web-01")
            let parsed = try #require(AgentKeyToken(issued.token))
            let otherID = parsed.id == "aaaaaaaaaaaa" ? "bbbbbbbbbbbb" : "aaaaaaaaaaaa"
            #expect(try await store.verifyKey("vk_\(otherID)_\(parsed.secret)") == .unknown)
        }
    }

    @Test("garbage is malformed", arguments: [
        "", "garbage", "vk_", "vk__", "vk_abcdefghijkl", "vk_abcdefghijkl_",
        "VK_abcdefghijkl_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "vk_ABCDEFGHIJKL_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "vk_abcdefghijk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "vk_abcdefghijklm_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "vk_abcdefghijkl_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "vk_abcdefghijkl_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "vk_abcdefghijkl_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "vk_abcdefghijkl_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+",
        " vk_abcdefghijkl_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "vk_abcdefghijkl_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",
        "vk_abcdefghijkl_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAé",
    ], StoreBackend.allCases)
    func verifyMalformed(text: String, backend: StoreBackend) async throws {
        try await withStore(backend) { (store) async throws in
            _ = try await store.createKey(hostname: "web-01")
            #expect(try await store.verifyKey(text) == .malformed)
        }
    }

    @Test("a well-formed secret may contain '_' and '-'", arguments: StoreBackend.allCases)
    func secretWithUnderscoreAndDash(backend: StoreBackend) async throws {
        try await withStore(backend) { (store) async throws in
            // Shape only: parsed, so verification gets as far as the lookup.
            let token = "vk_abcdefghijkl_" + String(repeating: "_-", count: 21) + "A"
            #expect(AgentKeyToken(token)?.secret.count == 43)
            #expect(try await store.verifyKey(token) == .unknown)
        }
    }

    @Test("after revokeKey the token verifies as revoked, with the revocation time", arguments: StoreBackend.allCases)
    func verifyRevoked(backend: StoreBackend) async throws {
        try await withStore(backend) { (store) async throws in
            let issued = try await store.createKey(hostname: "web-01")
            let before = Date().addingTimeInterval(-1)
            let revoked = try #require(try await store.revokeKey(id: issued.key.id))
            #expect(revoked.id == issued.key.id)
            #expect(revoked.hostname == "web-01")
            #expect(revoked.isRevoked)
            let revokedAt = try #require(revoked.revokedAt)
            #expect(revokedAt >= before && revokedAt <= Date().addingTimeInterval(1))

            let result = try await store.verifyKey(issued.token)
            let key = try #require(result.revokedKey, "expected .revoked, got \(result)")
            #expect(key.id == issued.key.id)
            #expect(key.hostname == "web-01")
            #expect(key.revokedAt == revokedAt)
            // A revoked key is not marked as used.
            #expect(key.lastUsedAt == nil)
            #expect(try await store.listKeys().first?.lastUsedAt == nil)
            // A wrong secret for a revoked key stays unknown: revocation is only told to the key's holder.
            #expect(try await store.verifyKey(try self.withAlteredSecret(issued.token)) == .unknown)
        }
    }

    @Test("revoking twice keeps the first revocation time", arguments: StoreBackend.allCases)
    func revokeTwice(backend: StoreBackend) async throws {
        try await withStore(backend) { (store) async throws in
            let issued = try await store.createKey(hostname: "web-01")
            let first = try #require(try await store.revokeKey(id: issued.key.id))
            try await Task.sleep(for: .milliseconds(20))
            let second = try #require(try await store.revokeKey(id: issued.key.id))
            #expect(first.revokedAt != nil)
            #expect(second.revokedAt == first.revokedAt)
        }
    }

    @Test("revokeKey of an unknown id returns nil and changes nothing", arguments: StoreBackend.allCases)
    func revokeUnknown(backend: StoreBackend) async throws {
        try await withStore(backend) { (store) async throws in
            let issued = try await store.createKey(hostname: "web-01")
            #expect(try await store.revokeKey(id: "zzzzzzzzzzzz") == nil)
            #expect(try await store.revokeKey(id: "") == nil)
            #expect(try await store.listKeys().map(\.isRevoked) == [false])
            #expect(try await store.verifyKey(issued.token).validKey != nil)
        }
    }

    @Test("revoking one key leaves the others valid", arguments: StoreBackend.allCases)
    func revokeOnlyOne(backend: StoreBackend) async throws {
        try await withStore(backend) { (store) async throws in
            let a = try await store.createKey(hostname: "web-01")
            let b = try await store.createKey(hostname: "web-01")
            _ = try await store.revokeKey(id: a.key.id)
            #expect(try await store.verifyKey(a.token).revokedKey?.id == a.key.id)
            #expect(try await store.verifyKey(b.token).validKey?.id == b.key.id)
        }
    }

    @Test("listKeys lists every key newest first, revoked ones included", arguments: StoreBackend.allCases)
    func listKeys(backend: StoreBackend) async throws {
        try await withStore(backend) { (store) async throws in
            #expect(try await store.listKeys().isEmpty)
            let a = try await store.createKey(hostname: "alpha")
            try await Task.sleep(for: .milliseconds(5))
            let b = try await store.createKey(hostname: "beta")
            try await Task.sleep(for: .milliseconds(5))
            let c = try await store.createKey(hostname: "gamma")
            _ = try await store.revokeKey(id: b.key.id)
            let keys = try await store.listKeys()
            #expect(keys.map(\.id) == [c.key.id, b.key.id, a.key.id])
            #expect(keys.map(\.hostname) == ["gamma", "beta", "alpha"])
            #expect(keys.map(\.isRevoked) == [false, true, false])
            for (listed, issued) in zip(keys, [c, b, a]) {
                #expect(abs(listed.createdAt.timeIntervalSince(issued.key.createdAt)) < 0.001)
            }
        }
    }

    @Test("listKeys never contains the token or the secret", arguments: StoreBackend.allCases)
    func listKeysHasNoSecret(backend: StoreBackend) async throws {
        try await withStore(backend) { (store) async throws in
            let issued = try await store.createKey(hostname: "web-01")
            let secret = try #require(AgentKeyToken(issued.token)).secret
            let keys = try await store.listKeys()
            #expect(keys.count == 1)
            // Everything the listing exposes, in every form a caller could print or serialize it.
            let json = String(decoding: try JSONEncoder().encode(keys), as: UTF8.self)
            let dumped = "\(keys) \(String(reflecting: keys))"
            for text in [json, dumped] {
                #expect(!text.contains(secret))
                #expect(!text.contains(issued.token))
            }
            #expect(json.contains(issued.key.id))  // sanity: the listing is not empty of content
        }
    }

    @Test("hasActiveKey: true while an unrevoked key exists for the host, false after revoking all", arguments: StoreBackend.allCases)
    func hasActiveKey(backend: StoreBackend) async throws {
        try await withStore(backend) { (store) async throws in
            #expect(try await store.hasActiveKey(hostname: "web-01") == false)
            let a = try await store.createKey(hostname: "web-01")
            let b = try await store.createKey(hostname: "web-01")
            #expect(try await store.hasActiveKey(hostname: "web-01") == true)
            #expect(try await store.hasActiveKey(hostname: "web-02") == false)
            #expect(try await store.hasActiveKey(hostname: "WEB-01") == false)
            _ = try await store.revokeKey(id: a.key.id)
            #expect(try await store.hasActiveKey(hostname: "web-01") == true)
            _ = try await store.revokeKey(id: b.key.id)
            #expect(try await store.hasActiveKey(hostname: "web-01") == false)
        }
    }

    @Test("the stored secret_digest is the SHA-256 of the secret, and no row or file holds the secret")
    func secretNotStored() async throws {
        try await withStore { (store, directory) async throws in
            let issued = try await store.createKey(hostname: "web-01")
            let token = try #require(AgentKeyToken(issued.token))
            _ = try await store.verifyKey(issued.token)

            // Open the file independently of the store.
            let path = directory.appendingPathComponent(SQLiteStore.fileName).path
            var configuration = Configuration()
            configuration.readonly = true
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            let digest = try await queue.read { db in
                try Data.fetchOne(db, sql: "SELECT secret_digest FROM agent_keys WHERE id = ?", arguments: [issued.key.id])
            }
            let storedDigest = try #require(digest)
            #expect(storedDigest.count == 32)
            #expect(Array(storedDigest) == token.secretDigest)
            #expect(storedDigest != Data(token.secret.utf8))

            // No value in any column of any table contains the secret or the whole token.
            let secretBytes = Data(token.secret.utf8)
            let offending = try await queue.read { db -> [String] in
                var found: [String] = []
                let tables = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'")
                #expect(tables.contains("agent_keys"))
                for table in tables {
                    for row in try Row.fetchAll(db, sql: "SELECT * FROM \(table.quotedDatabaseIdentifier)") {
                        for (column, value) in row {
                            switch value.storage {
                            case .string(let s) where s.contains(token.secret) || s.contains(issued.token):
                                found.append("\(table).\(column)")
                            case .blob(let b) where b.range(of: secretBytes) != nil:
                                found.append("\(table).\(column)")
                            default:
                                break
                            }
                        }
                    }
                }
                return found
            }
            #expect(offending == [])
            try queue.close()

            // Nor do the raw bytes of the database and its WAL.
            var allBytes = Data()
            for suffix in ["", "-wal", "-shm"] {
                let url = URL(fileURLWithPath: path + suffix)
                guard FileManager.default.fileExists(atPath: url.path) else { continue }
                let bytes = try Data(contentsOf: url)
                #expect(bytes.range(of: secretBytes) == nil, "secret found in \(url.lastPathComponent)")
                allBytes.append(bytes)
            }
            // Sanity: the scan does see the stored key.
            #expect(allBytes.range(of: Data(issued.key.id.utf8)) != nil)
            #expect(allBytes.range(of: Data(token.secretDigest)) != nil)
        }
    }
}
