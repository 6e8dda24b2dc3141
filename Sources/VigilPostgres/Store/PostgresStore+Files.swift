import Foundation
import PostgresNIO
import VigilStore

/// Received files' records (table `files`): the ``FileCatalog`` part.
extension PostgresStore {
    public func recordFile(_ file: StoredFile) async throws -> StoredFile {
        // UNIQUE(transfer_id) decides: a second save of one transfer keeps the first.
        try await self.client.query("""
            INSERT INTO files(id, transfer_id, sender, recipient, filename, stored_path, size, sha256, created_at)
            VALUES (\(file.id), \(file.transferID), \(file.sender), \(file.recipient), \(file.filename), \(file.storedPath),
                    \(Int64(clamping: file.size)), \(file.sha256), \(file.createdAt.timeIntervalSince1970))
            ON CONFLICT (transfer_id) DO NOTHING
            """, logger: self.logger)
        guard let stored = try await self.file(transferID: file.transferID) else {
            throw PostgresStoreError.inconsistent("file \(file.id) vanished right after it was recorded")
        }
        return stored
    }

    public func file(id: String) async throws -> StoredFile? {
        try await self.client.query("SELECT * FROM files WHERE id = \(id)", logger: self.logger).rows().first.map(Self.storedFile(from:))
    }

    public func file(transferID: String) async throws -> StoredFile? {
        try await self.client.query("SELECT * FROM files WHERE transfer_id = \(transferID)", logger: self.logger)
            .rows().first.map(Self.storedFile(from:))
    }

    public func storedBytes(sender: String) async throws -> UInt64 {
        for try await total in try await self.client.query(
            "SELECT COALESCE(SUM(size), 0)::bigint FROM files WHERE sender = \(sender)", logger: self.logger).decode(Int64.self) {
            return UInt64(max(0, total))
        }
        return 0
    }

    public func files(sender: String?, before: String?, limit: Int) async throws -> [StoredFile] {
        try await self.client.query("""
            SELECT * FROM files
            WHERE (\(sender)::text IS NULL OR sender = \(sender)) AND (\(before)::text IS NULL OR id < \(before))
            ORDER BY id DESC LIMIT \(Int64(max(0, limit)))
            """, logger: self.logger).rows().map(Self.storedFile(from:))
    }

    static func storedFile(from row: PostgresRandomAccessRow) throws -> StoredFile {
        StoredFile(
            id: try row.value("id"), transferID: try row.value("transfer_id"), sender: try row.value("sender"),
            recipient: try row.value("recipient", as: String?.self), filename: try row.value("filename"),
            storedPath: try row.value("stored_path"), size: UInt64(max(0, try row.value("size", as: Int64.self))),
            sha256: try row.value("sha256"), createdAt: try row.date("created_at")
        )
    }
}
