import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
import VigilLocalPostgres

/// `vigil migrate --to postgres://…`: a real server's SQLite data directory (keys, users,
/// messages, metrics history) copied into a real PostgreSQL and verified, then served by a
/// `vigil server` on PostgreSQL as it was on SQLite.
@Suite("vigil migrate end to end", .serialized)
struct MigrateEndToEndTests {
    @Test("a SQLite data directory moves to PostgreSQL: keys, users, messages with their ids and the history serve as before",
          .enabled(if: LocalPostgres.isAvailable, "PostgreSQL is not installed"))
    func migratesEverything() async throws {
        // 250 samples in a burst: the per-host rate limits must let them all in.
        var server = try await ToolServer.start(environment: ["VIGIL_METRICS_RATE_LIMIT": "10000", "VIGIL_METRICS_RATE_BURST": "100000"])
        defer { server.stop() }
        let key = try server.key(for: "mig-host")
        let api = server.api
        let adminToken = try await api.accessToken()

        // A user, three messages, and 250 samples a second apart: two sealed raw blocks (120 rows
        // each), a live open block, and closed minute buckets.
        let (_, created) = try await api.request("POST", "/api/users", body: Data(#"{"name": "carol", "password": "carol-e2e-password", "role": "viewer"}"#.utf8))
        #expect(created == 201)
        for text in ["first", "second", "third"] {
            let (_, status) = try await api.request("POST", "/api/messages", body: Data(#"{"content": "\#(text)"}"#.utf8))
            #expect(status == 201)
        }
        let base = floor(Date().timeIntervalSince1970) - 300
        for second in 0..<250 {
            let status = try await Self.postSample(port: server.httpPort, key: key, at: base + Double(second), cpu: Double(second % 50))
            #expect(status == 200)
        }
        let messagesBefore = try await Self.messages(api)
        #expect(messagesBefore.map { $0.content } == ["third", "second", "first"])
        let rawBefore = try await Self.history(api, from: base - 1, to: base + 300, resolution: "raw")
        let minuteBefore = try await Self.history(api, from: base - 120, to: base + 300, resolution: "1m")
        #expect(rawBefore.count == 250)
        #expect(minuteBefore.count >= 4)
        let keysBefore = try await api.get("/api/keys") as? [[String: Any]] ?? []

        // Refused while the server runs on the directory.
        let vigil = server.vigil
        let dataDirectory = server.dataDirectory.path
        let (busy, busyOutput) = try runCapturingSync(vigil, ["migrate", "--to", "postgres://postgres@127.0.0.1:1/vigil", "--data-dir", dataDirectory])
        #expect(busy == 1, "\(busyOutput)")
        #expect(busyOutput.contains("is running"), "\(busyOutput)")

        server.server.signal(SIGTERM)
        #expect(try await server.server.waitForExit(timeout: .seconds(30)) != nil)

        let postgres = try await LocalPostgres.start()
        do {
            try await postgres.createDatabase("vigil")
            let url = postgres.url(database: "vigil") + "?sslmode=disable"
            let (status, output) = try runCapturingSync(vigil, ["migrate", "--to", url, "--data-dir", dataDirectory, "--block-batch-size", "1"])
            #expect(status == 0, "\(output)")
            #expect(output.contains("what"), "\(output)")
            #expect(!output.contains("MISMATCH"), "\(output)")
            for (what, count) in [("agent_keys", 1), ("users", 2), ("messages", messagesBefore.count), ("metrics raw samples mig-host", 250)] {
                #expect(Self.row(what, in: output) == [String(count), String(count), "ok"], "\(what) in:\n\(output)")
            }
            #expect(try await postgres.psql("SELECT count(*) FROM metrics_raw_blocks", database: "vigil") == "2\n")

            // A server on PostgreSQL serves what the SQLite one stored.
            var moved = try await ToolServer.start(environment: [
                "VIGIL_STORE_BACKEND": "postgres",
                "VIGIL_STORE_POSTGRES_URL": url,
            ])
            defer { moved.stop() }
            let movedAPI = moved.api
            // The signing secret moved: a token issued on SQLite is still good, and so are passwords.
            #expect(try await Self.status(port: moved.httpPort, "/api/auth/me", token: adminToken) == 200)
            _ = try await E2EAuth.accessToken(port: moved.httpPort, name: "carol", password: "carol-e2e-password")
            let keysAfter = try await movedAPI.get("/api/keys") as? [[String: Any]] ?? []
            #expect(keysAfter.map { $0["id"] as? String } == keysBefore.map { $0["id"] as? String })
            let messagesAfter = try await Self.messages(movedAPI)
            #expect(messagesAfter.map { $0.id } == messagesBefore.map { $0.id })
            #expect(messagesAfter.map { $0.content } == messagesBefore.map { $0.content })
            #expect(try await Self.history(movedAPI, from: base - 1, to: base + 300, resolution: "raw") == rawBefore)
            #expect(try await Self.history(movedAPI, from: base - 120, to: base + 300, resolution: "1m") == minuteBefore)

            // The key still authenticates, and history and ids carry on past what was copied.
            #expect(try await Self.postSample(port: moved.httpPort, key: key, at: base + 260, cpu: 99) == 200)
            #expect(try await Self.history(movedAPI, from: base - 1, to: base + 300, resolution: "raw").count == 251)
            let (_, sent) = try await movedAPI.request("POST", "/api/messages", body: Data(#"{"content": "fourth"}"#.utf8))
            #expect(sent == 201)
            let newest = try await Self.messages(movedAPI).first
            #expect(newest?.content == "fourth")
            #expect((newest?.id ?? 0) > (messagesBefore.map { $0.id }.max() ?? .max))
        } catch {
            await postgres.stop()
            throw error
        }
        await postgres.stop()
    }

    @Test("a target that holds data is refused and left as it was", .enabled(if: LocalPostgres.isAvailable, "PostgreSQL is not installed"))
    func nonEmptyTargetRefused() async throws {
        let vigil = try Binaries.path("vigil")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-e2e-migrate-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (created, _) = try run(vigil, ["keys", "create", "--key-only", "--host", "only-host", "--data-dir", directory.path])
        #expect(created == 0)
        let postgres = try await LocalPostgres.start()
        do {
            try await postgres.createDatabase("vigil")
            let url = postgres.url(database: "vigil") + "?sslmode=disable"
            let (first, firstOutput) = try runCapturingSync(vigil, ["migrate", "--to", url, "--data-dir", directory.path])
            #expect(first == 0, "\(firstOutput)")
            #expect(firstOutput.contains("no metrics.sqlite"), "\(firstOutput)")
            let (second, secondOutput) = try runCapturingSync(vigil, ["migrate", "--to", url, "--data-dir", directory.path])
            #expect(second == 1, "\(secondOutput)")
            #expect(secondOutput.contains("already holds data"), "\(secondOutput)")
            #expect(secondOutput.contains("agent_keys"), "\(secondOutput)")
            #expect(try await postgres.psql("SELECT count(*) FROM agent_keys", database: "vigil") == "1\n")
        } catch {
            await postgres.stop()
            throw error
        }
        await postgres.stop()
    }

    @Test("a password in the URL is refused without being printed")
    func passwordInURL() throws {
        let vigil = try Binaries.path("vigil")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-e2e-migrate-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (status, output) = try runCapturingSync(vigil, ["migrate", "--to", "postgres://vigil:hunter2@127.0.0.1:5432/vigil", "--data-dir", directory.path])
        #expect(status == 64, "\(output)")
        #expect(output.contains("password"), "\(output)")
        #expect(output.contains("--password-file"), "\(output)")
        #expect(!output.contains("hunter2"), "\(output)")
        #expect(!FileManager.default.fileExists(atPath: directory.path), "nothing is touched before the URL is accepted")
    }

    // MARK: Helpers

    /// The cells after `what` in the verification table.
    static func row(_ what: String, in output: String) -> [String]? {
        for line in output.split(separator: "\n") {
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            if cells.count == 4, cells[0] == what { return Array(cells.dropFirst()) }
        }
        return nil
    }

    static func postSample(port: Int, key: String, at timestamp: Double, cpu: Double) async throws -> Int {
        var post = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/api/metrics")!)
        post.httpMethod = "POST"
        post.setValue("application/json", forHTTPHeaderField: "Content-Type")
        post.setValue(key, forHTTPHeaderField: "X-API-Key")
        post.httpBody = Data(#"{"timestamp": \#(timestamp), "cpu": {"cpu_percent_total": \#(cpu), "cpu_count_logical": 4}}"#.utf8)
        let (_, response) = try await URLSession.shared.data(for: post)
        return (response as? HTTPURLResponse)?.statusCode ?? 0
    }

    static func status(port: Int, _ path: String, token: String) async throws -> Int {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        let (_, response) = try await URLSession.shared.data(for: request)
        return (response as? HTTPURLResponse)?.statusCode ?? 0
    }

    /// Every message, newest first.
    static func messages(_ api: API) async throws -> [(id: Int, content: String)] {
        let page = try await api.get("/api/messages?limit=1000") as? [String: Any]
        return (page?["messages"] as? [[String: Any]] ?? []).compactMap { message in
            guard let id = message["id"] as? Int, let content = message["content"] as? String else { return nil }
            return (id, content)
        }
    }

    /// The points of `cpu.percent` in a range at a resolution, as canonical JSON for comparison.
    static func history(_ api: API, from: Double, to: Double, resolution: String) async throws -> [String] {
        let history = try await api.get("/api/servers/mig-host/history?metric=cpu.percent&from=\(Int(from))&to=\(Int(to))&resolution=\(resolution)") as? [String: Any]
        let points = history?["points"] as? [[String: Any]] ?? []
        return try points.map { String(decoding: try JSONSerialization.data(withJSONObject: $0, options: .sortedKeys), as: UTF8.self) }
    }
}
