#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GRDB

// `FileCatalog` conformance comes with `VigilStore` (declared where the class is).
extension SQLiteStore {
    public func recordFile(_ file: StoredFile) async throws -> StoredFile {
        try await self.pool.write { db in
            // The UNIQUE(transfer_id) constraint decides: a second save of one transfer keeps the first.
            try db.execute(
                sql: """
                INSERT INTO files(id, transfer_id, sender, recipient, filename, stored_path, size, sha256, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(transfer_id) DO NOTHING
                """,
                arguments: [file.id, file.transferID, file.sender, file.recipient, file.filename, file.storedPath,
                            Int64(clamping: file.size), file.sha256, file.createdAt.timeIntervalSince1970]
            )
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM files WHERE transfer_id = ?", arguments: [file.transferID]) else {
                throw DatabaseError(message: "file \(file.id) vanished right after it was recorded")
            }
            return Self.storedFile(from: row)
        }
    }

    public func file(id: String) async throws -> StoredFile? {
        try await self.pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM files WHERE id = ?", arguments: [id]).map(Self.storedFile(from:))
        }
    }

    public func file(transferID: String) async throws -> StoredFile? {
        try await self.pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM files WHERE transfer_id = ?", arguments: [transferID]).map(Self.storedFile(from:))
        }
    }

    public func storedBytes(sender: String) async throws -> UInt64 {
        try await self.pool.read { db in
            UInt64(max(0, try Int64.fetchOne(db, sql: "SELECT COALESCE(SUM(size), 0) FROM files WHERE sender = ?", arguments: [sender]) ?? 0))
        }
    }

    public func files(sender: String?, before: String?, limit: Int) async throws -> [StoredFile] {
        try await self.pool.read { db in
            var sql = "SELECT * FROM files WHERE 1"
            var arguments: StatementArguments = []
            if let sender {
                sql += " AND sender = ?"
                arguments += [sender]
            }
            if let before {
                sql += " AND id < ?"
                arguments += [before]
            }
            sql += " ORDER BY id DESC LIMIT ?"
            arguments += [limit]
            return try Row.fetchAll(db, sql: sql, arguments: arguments).map(Self.storedFile(from:))
        }
    }

    static func storedFile(from row: Row) -> StoredFile {
        StoredFile(
            id: row["id"], transferID: row["transfer_id"], sender: row["sender"], recipient: row["recipient"],
            filename: row["filename"], storedPath: row["stored_path"],
            size: UInt64(max(0, row["size"] as Int64)), sha256: row["sha256"],
            createdAt: Date(timeIntervalSince1970: row["created_at"])
        )
    }
}
