import Foundation
import Testing
@testable import VigilStore

/// A fresh, not yet existing directory under the system temporary directory, removed after `body`.
func withTemporaryDirectory<T>(_ body: (URL) async throws -> T) async throws -> T {
    let base = FileManager.default.temporaryDirectory
        .appendingPathComponent("vigil-store-tests-\(UUID().uuidString.lowercased())", isDirectory: true)
    defer { try? FileManager.default.removeItem(at: base) }
    #expect(!FileManager.default.fileExists(atPath: base.path))
    return try await body(base.appendingPathComponent("data", isDirectory: true))
}

/// A fresh store in its own temporary directory, removed after `body`.
func withStore<T>(_ body: (SQLiteStore, URL) async throws -> T) async throws -> T {
    try await withTemporaryDirectory { directory in
        let store = try SQLiteStore(directory: directory)
        return try await body(store, directory)
    }
}

/// Dates that survive the REAL Unix-seconds round trip bit for bit (small binary fractions).
func date(_ unixSeconds: Double) -> Date {
    Date(timeIntervalSince1970: unixSeconds)
}

extension KeyVerification {
    /// The key of a `.valid` result.
    var validKey: AgentKey? {
        if case .valid(let key) = self { return key }
        return nil
    }

    /// The key of a `.revoked` result.
    var revokedKey: AgentKey? {
        if case .revoked(let key) = self { return key }
        return nil
    }
}
