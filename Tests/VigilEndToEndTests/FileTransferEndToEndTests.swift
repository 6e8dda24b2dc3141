import Foundation
import Testing
import VigilProtocol

/// `vigil send-file` against a real `vigil server`: a 1 GiB file in bounded server memory, a
/// transfer killed half way and resumed, a file over the size limit refused before any byte.
@Suite("File transfer end to end", .serialized)
struct FileTransferEndToEndTests {
    /// Writes `size` bytes of non-repeating pseudo-random content (a xorshift stream, 1 MiB at a
    /// time) and returns its SHA-256 as `sha256sum` computes it.
    static func makeFile(_ url: URL, size: Int) throws -> String {
        _ = FileManager.default.createFile(atPath: url.path, contents: nil)
        let handle = try FileHandle(forWritingTo: url)
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(size)
        var written = 0
        var block = [UInt64](repeating: 0, count: (1 << 20) / 8)
        while written < size {
            for index in block.indices {
                state ^= state << 13
                state ^= state >> 7
                state ^= state << 17
                block[index] = state
            }
            let count = min(1 << 20, size - written)
            block.withUnsafeBytes { handle.write(Data($0.prefix(count))) }
            written += count
        }
        try handle.close()
        return try Self.sha256(url)
    }

    static func sha256(_ url: URL) throws -> String {
        let (status, output) = try run("/usr/bin/sha256sum", [url.path])
        guard status == 0, let digest = output.split(separator: " ").first else { throw E2EError("sha256sum \(url.path) failed") }
        return String(digest)
    }

    /// Bytes in the server's partial files (`<files>/.partial/*.part`).
    static func partialBytes(_ server: ToolServer) -> UInt64 {
        let directory = server.filesDirectory.appendingPathComponent(".partial")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasSuffix(".part") }.reduce(0) { total, name in
            let attributes = try? FileManager.default.attributesOfItem(atPath: directory.appendingPathComponent(name).path)
            return total + ((attributes?[.size] as? NSNumber)?.uint64Value ?? 0)
        }
    }

    @Test("a 1 GiB file arrives with the right SHA-256 while the server's memory stays within 64 MB of idle")
    func oneGigabyte() async throws {
        let server = try await ToolServer.start()
        defer { server.stop() }
        let file = server.directory.appendingPathComponent("big.bin")
        let size = 1 << 30
        let digest = try Self.makeFile(file, size: size)
        defer { try? FileManager.default.removeItem(at: file) }

        // Idle: after start-up settled, with a registered client (what a connection costs is not the transfer's).
        let warmup = try await server.vigil(["send", "--name", "kim", "warming up"])
        #expect(warmup.status == 0, "\(warmup.output)")
        try await Task.sleep(for: .seconds(1))
        let idle = try #require(server.residentBytes)

        let started = ContinuousClock.now
        let sender = try server.start(["send-file", file.path, "--name", "kim"])
        defer { sender.stop() }
        var peak = idle
        var sendingSince: ContinuousClock.Instant?
        while sender.process.isRunning {
            if let rss = server.residentBytes { peak = max(peak, rss) }
            if sendingSince == nil, sender.output.contains("sending big.bin") { sendingSince = .now }
            guard ContinuousClock.now - started < .seconds(300) else { throw E2EError("send-file still running after 300 s:\n\(sender.output)") }
            try await Task.sleep(for: .milliseconds(20))
        }
        let finished = ContinuousClock.now
        #expect(sender.process.terminationStatus == 0, "\(sender.output)")
        #expect(sender.output.contains("saved big.bin: file id"), "\(sender.output)")
        #expect(sender.output.contains("sha256 \(digest)"), "\(sender.output)")
        let stored = server.filesDirectory.appendingPathComponent("kim/big.bin")
        #expect(try Self.sha256(stored) == digest, "the stored file's bytes")
        try? FileManager.default.removeItem(at: stored)

        let seconds = (finished - (sendingSince ?? started)).seconds
        let growth = Int64(peak) - Int64(idle)
        print("1 GiB send-file: \(String(format: "%.1f", seconds)) s after the offer, \(String(format: "%.0f", Double(size) / seconds / 1_048_576)) MiB/s; server RSS idle \(idle >> 20) MiB, peak \(peak >> 20) MiB (+\(growth >> 20) MiB)")
        #expect(growth < 64_000_000, "server RSS grew by \(growth) bytes (idle \(idle), peak \(peak))")
    }

    @Test("a transfer killed half way resumes from what the server wrote and completes with the right hash")
    func resumesAfterKill() async throws {
        // A small sync interval: the server's durable resume point moves every 4 MiB.
        let server = try await ToolServer.start(environment: ["VIGIL_FILES_SYNC_INTERVAL": "4MiB"])
        defer { server.stop() }
        let file = server.directory.appendingPathComponent("half.bin")
        let size = 256 << 20
        let digest = try Self.makeFile(file, size: size)
        defer { try? FileManager.default.removeItem(at: file) }

        let first = try server.start(["send-file", file.path, "--name", "lena"])
        defer { first.stop() }
        _ = try await waitFor("the server to write half the file", timeout: .seconds(60)) { () -> Bool? in
            guard first.process.isRunning else { throw E2EError("send-file ended before the kill:\n\(first.output)") }
            return Self.partialBytes(server) >= UInt64(size / 2) ? true : nil
        }
        first.signal(SIGKILL)
        _ = try await first.waitForExit()
        // What was in flight still lands; the server closes the partial when it sees the connection gone.
        var written = Self.partialBytes(server)
        while true {
            try await Task.sleep(for: .milliseconds(300))
            let now = Self.partialBytes(server)
            if now == written { break }
            written = now
        }
        #expect(written < UInt64(size), "killed before the end")

        let second = try await server.vigil(["send-file", file.path, "--name", "lena"], timeout: .seconds(120))
        #expect(second.status == 0, "\(second.output)")
        let resumed = try #require(second.output.split(separator: "\n").first { $0.contains("resuming half.bin at ") }, "\(second.output)")
        let offset = try #require(UInt64(resumed.components(separatedBy: " at ").last?.split(separator: " ").first ?? ""))
        #expect(offset > 0 && offset <= written, "resumed at \(offset), the server had \(written) bytes")
        print("killed send-file with \(written) of \(size) bytes on the server; the second run: \(resumed)")
        #expect(second.output.contains("sha256 \(digest)"), "\(second.output)")
        #expect(try Self.sha256(server.filesDirectory.appendingPathComponent("lena/half.bin")) == digest)
        #expect(Self.partialBytes(server) == 0, "no partial is left")

        // A third run finds the file stored: nothing is sent again.
        let third = try await server.vigil(["send-file", file.path, "--name", "lena"])
        #expect(third.status == 0)
        #expect(third.output.contains("already stored half.bin"), "\(third.output)")
    }

    @Test("a file over files.max_file_size is rejected before any byte is sent")
    func overTheLimit() async throws {
        let server = try await ToolServer.start(environment: ["VIGIL_FILES_MAX_FILE_SIZE": "1MiB"])
        defer { server.stop() }
        let large = server.directory.appendingPathComponent("large.bin")
        let small = server.directory.appendingPathComponent("small.bin")
        _ = try Self.makeFile(large, size: (1 << 20) + 1)
        let smallDigest = try Self.makeFile(small, size: 1000)

        let result = try await server.vigil(["send-file", large.path, small.path, "--name", "mona"])
        #expect(result.status == 1, "some file was refused: \(result.output)")
        #expect(result.output.contains("rejected large.bin"), "\(result.output)")
        #expect(result.output.contains("file_too_large"), "\(result.output)")
        #expect(result.output.contains("saved small.bin"), "the next file is still sent: \(result.output)")
        #expect(result.output.contains(smallDigest))
        #expect(Self.partialBytes(server) == 0, "the server received no byte of the refused file")
        #expect(!FileManager.default.fileExists(atPath: server.filesDirectory.appendingPathComponent("mona/large.bin").path))
        let files = try await server.api.get("/api/files?sender=mona") as? [String: Any]
        let names = (files?["files"] as? [[String: Any]])?.compactMap { $0["filename"] as? String }
        #expect(names == ["small.bin"])
    }

    @Test("a file sent --to an agent lands in its --inbox with the right hash; an agent without an inbox refuses it")
    func toAnAgent() async throws {
        let server = try await ToolServer.start()
        defer { server.stop() }
        let agentBinary = try Binaries.path("vigil-agent")
        let inbox = server.directory.appendingPathComponent("inbox")
        let receiving = try Child(agentBinary, ["--server", server.address, "--ca", server.caFile, "--hostname", "web-8", "--metrics-interval", "0", "--inbox", inbox.path], name: "agent-web-8", directory: server.directory)
        defer { receiving.stop() }
        let refusing = try Child(agentBinary, ["--server", server.address, "--ca", server.caFile, "--hostname", "web-9", "--metrics-interval", "0"], name: "agent-web-9", directory: server.directory)
        defer { refusing.stop() }
        _ = try await waitFor("both agents to register", timeout: .seconds(30)) { receiving.output.contains("registered") && refusing.output.contains("registered") ? true : nil }

        let file = server.directory.appendingPathComponent("config.tar")
        let digest = try Self.makeFile(file, size: 5_000_000)
        let sent = try await server.vigil(["send-file", file.path, "--name", "ops", "--to", "web-8"])
        #expect(sent.status == 0, "\(sent.output)")
        let arrived = inbox.appendingPathComponent("config.tar")
        _ = try await waitFor("the file in web-8's inbox", timeout: .seconds(30)) { FileManager.default.fileExists(atPath: arrived.path) ? true : nil }
        #expect(try Self.sha256(arrived) == digest)
        // The agent logs once the file is saved, which is just after it appears under its name.
        _ = try await waitFor("web-8 to log the file", timeout: .seconds(30)) { receiving.output.contains("received a file") ? true : nil }

        let refused = try await server.vigil(["send-file", file.path, "--name", "ops", "--to", "web-9"])
        #expect(refused.status == 0, "stored on the server even if the agent refuses it: \(refused.output)")
        _ = try await waitFor("web-9 to refuse the file", timeout: .seconds(30)) { refusing.output.contains("refused a file") ? true : nil }
    }
}
