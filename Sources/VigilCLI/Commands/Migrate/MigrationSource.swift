import Foundation
import VigilStore

/// The SQLite data directory being copied, opened read-only: the store and, when the server
/// ever stored a sample, the metrics history.
struct MigrationSource: Sendable {
    let directory: URL
    let store: SQLiteStoreExport
    let metrics: SQLiteMetricsExport?

    init(directory: URL) throws {
        self.directory = directory
        self.store = try SQLiteStoreExport(directory: directory)
        self.metrics = try SQLiteMetricsExport.open(directory: directory)
    }
}
