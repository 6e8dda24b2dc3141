import Foundation
import Logging
import Testing
import VigilLocalPostgres
import VigilPostgres
import VigilStore

/// The store implementations one test suite runs against: the embedded SQLite store and the
/// PostgreSQL store on a real server the suite starts (``PostgresServerTrait``).
enum StoreBackend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    var testDescription: String { self.rawValue }
}

/// Runs `body` with a fresh, empty store of `backend`: a SQLite file in a temporary directory, or
/// a new database on the suite's PostgreSQL server. Without PostgreSQL installed, the postgres
/// case says so on standard output and passes without running (`.ci/run` installs it).
@discardableResult
func withStore<T: Sendable>(_ backend: StoreBackend, _ body: (any VigilStore) async throws -> T) async throws -> T? {
    switch backend {
    case .sqlite:
        return try await withStore { store, _ in try await body(store) }
    case .postgres:
        guard let server = PostgresServerTrait.server else {
            print("SKIPPED (postgres): \(PostgresServerTrait.unavailableReason ?? "no PostgreSQL server in this suite's scope")")
            return nil
        }
        let database = "test_\(UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: ""))"
        try await server.createDatabase(database)
        let settings = try PostgresStoreSettings(url: server.url(database: database) + "?sslmode=disable")
        let store = try await PostgresStore.connect(settings, logger: Logger(label: "test.postgres"))
        do {
            let result = try await body(store)
            await store.close()
            return result
        } catch {
            await store.close()
            throw error
        }
    }
}

/// Starts one real PostgreSQL server for a suite and stops it when the suite ends; tests reach
/// it through ``server``. With PostgreSQL absent the suite runs and the postgres cases skip loudly.
struct PostgresServerTrait: SuiteTrait, TestScoping {
    @TaskLocal static var server: LocalPostgres?
    @TaskLocal static var unavailableReason: String?

    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        let server: LocalPostgres
        do {
            server = try await LocalPostgres.start()
        } catch {
            print("PostgreSQL tests of \(test.name) SKIPPED: \(error)")
            try await Self.$unavailableReason.withValue("\(error)") { try await function() }
            return
        }
        do {
            try await Self.$server.withValue(server) { try await function() }
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }
}

extension Trait where Self == PostgresServerTrait {
    /// A real PostgreSQL server for the suite's postgres cases.
    static var postgres: Self { PostgresServerTrait() }
}
