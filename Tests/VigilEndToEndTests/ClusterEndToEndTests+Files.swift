import Foundation
import Testing
import VigilLocalPostgres

/// Files in a cluster: the catalog is in PostgreSQL and the bytes in `files.directory`, which every
/// member mounts (OPERATIONS.md §15.4): a file received by one member downloads from another after
/// the first is killed.
extension ClusterEndToEndTests {
    @Test("a file sent to member 0 downloads, byte for byte, from member 1 after member 0 is killed (shared files.directory)",
          .enabled(if: LocalPostgres.isAvailable, "PostgreSQL is not installed"))
    func fileFromAnotherMember() async throws {
        let shared = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-e2e-shared-files-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: shared, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: shared) }
        try await self.withCluster(2, environment: Self.sharedTLS(["VIGIL_FILES_DIRECTORY": shared.path])) { _, servers in
            let file = servers[0].directory.appendingPathComponent("report.bin")
            let digest = try FileTransferEndToEndTests.makeFile(file, size: (3 << 20) + 17)
            let sent = try await servers[0].vigil(["send-file", file.path, "--name", "kim"], timeout: .seconds(60))
            #expect(sent.status == 0, "\(sent.output)")
            let listing = try await servers[1].api.get("/api/files?sender=kim") as? [String: Any]
            let entry = try #require((listing?["files"] as? [[String: Any]])?.first { $0["filename"] as? String == "report.bin" }, "member 1 lists the file member 0 received: \(String(describing: listing))")
            let id = try #require(entry["id"] as? String)

            servers[0].server.stop()  // SIGKILL
            let (bytes, status) = try await servers[1].api.request("GET", "/api/files/\(id)")
            #expect(status == 200)
            #expect(bytes.count == (3 << 20) + 17)
            let downloaded = servers[1].directory.appendingPathComponent("downloaded.bin")
            try bytes.write(to: downloaded)
            #expect(try FileTransferEndToEndTests.sha256(downloaded) == digest)
        }
    }
}
