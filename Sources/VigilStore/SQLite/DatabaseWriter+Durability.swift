import GRDB

extension DatabaseWriter {
    /// Makes every commit fsync the write-ahead log before it returns (`PRAGMA synchronous = FULL`),
    /// so what a commit acknowledged survives a power loss, not only a crash of the process.
    ///
    /// Called after opening: GRDB sets `synchronous = NORMAL` on the writer when it turns WAL on,
    /// after `prepareDatabase` has run, so setting it there would be undone. The pool has one writer
    /// connection for its whole life (a `DatabasePool`), and the pragma belongs to the connection. The cost is one
    /// fsync per transaction; Vigil's writers group-commit, so it is paid per batch.
    func syncEveryCommit() throws {
        try self.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
    }
}
