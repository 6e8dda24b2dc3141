/// Received files' records, behind a backend-neutral protocol (the bytes live on disk).
public protocol FileCatalog: Sendable {
    /// Records a saved file. Returns the row now stored under its transfer id: `file` itself, or the
    /// file already recorded for that transfer (the caller then has a duplicate and should delete its copy).
    func recordFile(_ file: StoredFile) async throws -> StoredFile

    /// The file with this id, or `nil`.
    func file(id: String) async throws -> StoredFile?

    /// The file saved under this transfer id, or `nil`.
    func file(transferID: String) async throws -> StoredFile?

    /// Bytes of every file `sender` has stored (for `files.quota_per_client`).
    func storedBytes(sender: String) async throws -> UInt64

    /// Files newest first, optionally only from `sender`, only with `id < before`, at most `limit`.
    func files(sender: String?, before: String?, limit: Int) async throws -> [StoredFile]
}
