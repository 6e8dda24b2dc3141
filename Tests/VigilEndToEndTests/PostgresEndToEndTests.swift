import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
import VigilLocalPostgres

/// `vigil server` with `store.backend: postgres` against a real PostgreSQL the test starts: the
/// schema is made, keys, users and messages land in the database, and a killed server comes back
/// with everything it acknowledged.
@Suite("PostgreSQL store end to end", .serialized)
struct PostgresEndToEndTests {
    @Test("a server on PostgreSQL keeps keys, users and messages across a kill -9", .enabled(if: LocalPostgres.isAvailable, "PostgreSQL is not installed"))
    func serverOnPostgres() async throws {
        let postgres = try await LocalPostgres.start()
        do {
            try await postgres.createDatabase("vigil")
            let environment = [
                "VIGIL_STORE_BACKEND": "postgres",
                "VIGIL_STORE_POSTGRES_URL": postgres.url(database: "vigil") + "?sslmode=disable",
            ]
            var server = try await ToolServer.start(environment: environment)
            defer { server.stop() }
            #expect(try await postgres.psql("SELECT to_regclass('messages') IS NOT NULL AND to_regclass('cluster_members') IS NOT NULL", database: "vigil") == "t\n")

            // The CLI's admin commands reach the same database through the same settings.
            let (status, output) = try run(server.vigil, ["keys", "create", "--key-only", "--host", "pg-host", "--data-dir", server.dataDirectory.path],
                                           environment: environment)
            #expect(status == 0, "vigil keys create: \(output)")
            #expect(try await postgres.psql("SELECT hostname FROM agent_keys", database: "vigil") == "pg-host\n")

            // A sample posted with the host's key lands in the history on PostgreSQL and reads back.
            var post = URLRequest(url: URL(string: "http://127.0.0.1:\(server.httpPort)/api/metrics")!)
            post.httpMethod = "POST"
            post.setValue("application/json", forHTTPHeaderField: "Content-Type")
            post.setValue(output.trimmingCharacters(in: .whitespacesAndNewlines), forHTTPHeaderField: "X-API-Key")
            post.httpBody = Data(#"{"cpu": {"cpu_percent_total": 12.5, "cpu_count_logical": 4}}"#.utf8)
            let (_, posted) = try await URLSession.shared.data(for: post)
            #expect((posted as? HTTPURLResponse)?.statusCode == 200)
            let history = try await server.api.get("/api/servers/pg-host/history?metric=cpu.percent") as? [String: Any]
            let points = history?["points"] as? [[String: Any]] ?? []
            #expect(points.count == 1, "\(history ?? [:])")
            #expect(try await postgres.psql("SELECT (SELECT count(*) FROM metrics_raw_head) + (SELECT count(*) FROM metrics_raw_blocks)", database: "vigil") == "1\n")

            // A message acknowledged ("stored") is a row in PostgreSQL.
            let sent = try await server.vigil(["send", "--name", "bob", "hello from bob"])
            #expect(sent.status == 0, "vigil send: \(sent.output)")
            #expect(sent.output.contains("stored message"))
            #expect(try await postgres.psql("SELECT sender || ':' || content FROM messages", database: "vigil") == "bob:hello from bob\n")

            // kill -9 and start again: the first admin is not made twice and still signs in.
            try await server.restart()
            _ = try await E2EAuth.accessToken(port: server.httpPort)
            #expect(try await postgres.psql("SELECT count(*) FROM users", database: "vigil") == "1\n")
            let again = try await server.vigil(["send", "--name", "bob", "still here"])
            #expect(again.status == 0, "vigil send after restart: \(again.output)")
            #expect(try await postgres.psql("SELECT count(*) FROM messages", database: "vigil") == "2\n")
        } catch {
            await postgres.stop()
            throw error
        }
        await postgres.stop()
    }

    @Test("a password in the URL is refused with the key's name, before anything starts")
    func passwordInURL() async throws {
        let vigil = try Binaries.path("vigil")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-e2e-pgurl-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (status, output) = try runCapturingSync(vigil, ["server", "--data-dir", directory.path, "--agent-port", "0", "--http-port", "0"], environment: [
            "VIGIL_STORE_BACKEND": "postgres",
            "VIGIL_STORE_POSTGRES_URL": "postgres://vigil:hunter2@127.0.0.1:5432/vigil",
        ])
        #expect(status != 0)
        #expect(output.contains("store.postgres.url"))
        #expect(output.contains("password"))
        #expect(!output.contains("hunter2"))
    }
}
