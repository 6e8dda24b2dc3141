import Foundation
import Crypto
import Logging
import PostgresNIO
import Synchronization
import VigilStore

/// Series name lists ("shapes") by id: the first 8 bytes of the SHA-256 of their encoding
/// (``HeadRow/data(names:)``), so every server derives the same id for the same list without asking
/// the database, and a row names its columns with 8 bytes. A 64-bit digest makes a collision among
/// the few thousand shapes of a fleet about 10^-12 likely.
///
/// `stored` holds the ids this process knows are in `metrics_shapes` (rows are never deleted), so
/// an append sends a list's names only the first time.
final class MetricsShapeRegistry: Sendable {
    private struct Entries {
        var names: [Int64: [String]] = [:]
        var stored: Set<Int64> = []
    }

    private let entries = Mutex(Entries())

    /// The id of a list of names and its encoding (to store with the first row that uses it).
    func id(of names: [String]) -> (id: Int64, encoded: [UInt8]) {
        let encoded = [UInt8](HeadRow.data(names: names))
        let digest = SHA256.hash(data: encoded)
        let id = digest.withUnsafeBytes { Int64(bitPattern: UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self))) }
        self.entries.withLock { entries in
            if entries.names[id] == nil { entries.names[id] = names }
        }
        return (id, encoded)
    }

    func isStored(_ id: Int64) -> Bool {
        self.entries.withLock { $0.stored.contains(id) }
    }

    func markStored(_ ids: some Sequence<Int64>) {
        self.entries.withLock { $0.stored.formUnion(ids) }
    }

    func cachedNames(_ id: Int64) -> [String]? {
        self.entries.withLock { $0.names[id] }
    }

    /// The names of these shapes, reading those this process has not seen from `metrics_shapes`.
    func names(of ids: Set<Int64>, client: PostgresClient, logger: Logger) async throws -> [Int64: [String]] {
        var found: [Int64: [String]] = [:]
        let missing: [Int64] = self.entries.withLock { entries in
            var missing: [Int64] = []
            for id in ids {
                if let names = entries.names[id] { found[id] = names } else { missing.append(id) }
            }
            return missing
        }
        guard !missing.isEmpty else { return found }
        let rows = try await client.query("SELECT id, names FROM metrics_shapes WHERE id = ANY(\(missing))", logger: logger)
        var loaded: [Int64: [String]] = [:]
        for try await (id, buffer) in rows.decode((Int64, ByteBuffer).self) {
            loaded[id] = try buffer.withUnsafeReadableBytes { try HeadRow.names(from: $0) }
        }
        for id in missing where loaded[id] == nil {
            throw MetricsCodecError.corrupt("series shape \(id) is not in metrics_shapes")
        }
        self.entries.withLock { entries in
            for (id, names) in loaded { entries.names[id] = names }
            entries.stored.formUnion(loaded.keys)
        }
        found.merge(loaded) { a, _ in a }
        return found
    }
}
