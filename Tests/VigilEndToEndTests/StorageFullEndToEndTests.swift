import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import NIOCore
import Testing
import VigilProtocol

/// A full disk (issue 12, defect 7): the data directory on a 20 MB tmpfs, filled to the last byte.
/// Writes that need space are refused with `storage_full`; registration and sign-in go on; the
/// server recovers by itself when space returns.
@Suite("Full disk (real binaries, a 20 MB tmpfs)", .serialized)
struct StorageFullEndToEndTests {
    /// Whether this machine lets the tests mount a tmpfs (root, no container restriction). When it
    /// does not, the test is skipped and the reason shows in the test output.
    static let mountProblem: String? = {
        let probe = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-tmpfs-probe-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: probe, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: probe) }
        guard let (status, output) = try? Self.mount(probe) else { return "mount could not be run" }
        guard status == 0 else { return "mount -t tmpfs failed (\(status)): \(output)" }
        _ = try? Self.unmount(probe)
        return nil
    }()

    static func mount(_ point: URL) throws -> (Int32, String) {
        try runCapturingSync("/bin/mount", ["-t", "tmpfs", "-o", "size=20m,mode=0700", "tmpfs", point.path])
    }

    static func unmount(_ point: URL) throws -> (Int32, String) {
        try runCapturingSync("/bin/umount", [point.path])
    }


    /// Writes `file` until the file system has no byte left (ENOSPC).
    static func fill(_ file: URL) throws -> Int {
        let fd = open(file.path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { throw E2EError("open \(file.path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var total = 0
        for size in [1 << 20, 4096, 512, 1] {
            let chunk = [UInt8](repeating: 0x5A, count: size)
            while true {
                let written = chunk.withUnsafeBytes { write(fd, $0.baseAddress, size) }
                if written > 0 { total += written; continue }
                guard errno == ENOSPC else { throw E2EError("write: \(String(cString: strerror(errno)))") }
                break
            }
        }
        return total
    }

    /// `POST /api/metrics` with a fresh timestamp; the status and the `error` field.
    static func postMetrics(port: Int, key: String) async throws -> (Int, String?) {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/api/metrics")!)
        request.httpMethod = "POST"
        request.setValue(key, forHTTPHeaderField: "X-API-Key")
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        // Unix seconds with a fraction: every post is newer than the last.
        request.httpBody = Data(#"{"timestamp": \#(Date().timeIntervalSince1970), "cpu": {"cpu_percent_total": 12.5, "cpu_count_logical": 2}}"#.utf8)
        let (data, response) = try await URLSession.shared.data(for: request)
        let error = (try? JSONSerialization.jsonObject(with: data) as? [String: Any])?["error"] as? String
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, error)
    }

    static func storageState(port: Int) async throws -> String? {
        let (data, _) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/api/health")!)
        let health = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        return (health?["storage"] as? [String: Any])?["state"] as? String
    }

    /// Registers an agent with its key over TCP; the register reply.
    static func register(port: Int, key: String?, hostname: String) throws -> (FramedSocket, ServerResponsePayload) {
        let socket = try FramedSocket(port: port)
        try socket.send(Envelope(.clientRegister(RegisterPayload(key: key, hostname: hostname, capabilities: ["heartbeat", "metrics"], agentVersion: "e2e-full/1", kind: .agent)), messageID: UUID().uuidString.lowercased()))
        while true {
            if case .serverResponse(let response) = try socket.next().body { return (socket, response) }
        }
    }

    @Test("on a full disk: metrics 503 storage_full (HTTP) and server_busy (TCP), health says so, agents register, people sign in; space back: metrics accepted again",
          .enabled(if: Self.mountProblem == nil, "skipped: \(Self.mountProblem ?? "")"))
    func fullDisk() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-e2e-full-\(UUID().uuidString)")
        let mountPoint = directory.appendingPathComponent("disk")
        try FileManager.default.createDirectory(at: mountPoint, withIntermediateDirectories: true)
        let (mounted, mountOutput) = try Self.mount(mountPoint)
        guard mounted == 0 else {
            print("StorageFullEndToEndTests: skipped, mount failed: \(mountOutput)")
            try? FileManager.default.removeItem(at: directory)
            return
        }
        defer {
            _ = try? Self.unmount(mountPoint)
            try? FileManager.default.removeItem(at: directory)
        }
        let vigil = try Binaries.path("vigil")
        let data = mountPoint.appendingPathComponent("data")
        let (created, token) = try run(vigil, ["keys", "create", "--key-only", "--host", "full-1", "--data-dir", data.path])
        #expect(created == 0)
        let key = token.trimmingCharacters(in: .whitespacesAndNewlines)
        let ready = directory.appendingPathComponent("ready.json")
        let server = try Child(vigil, [
            "server", "--data-dir", data.path, "--agent-port", "0", "--http-port", "0", "--heartbeat-interval", "1s",
            "--open-enrollment", "--ready-file", ready.path,
        ], name: "server", directory: directory, environment: ["VIGIL_DISK_CHECK_INTERVAL": "1s"])
        defer { server.stop() }
        let ports = try await waitFor("the ready file", timeout: .seconds(30)) { () -> (agent: Int, http: Int)? in
            let json = try JSONSerialization.jsonObject(with: Data(contentsOf: ready)) as? [String: Int]
            guard let agent = json?["agent_port"], let http = json?["http_port"] else { return nil }
            return (agent, http)
        }
        let (accepted, _) = try await Self.postMetrics(port: ports.http, key: key)
        #expect(accepted == 200)

        let filler = mountPoint.appendingPathComponent("filler")
        let filled = try Self.fill(filler)
        print("StorageFullEndToEndTests: filled the tmpfs with \(filled) bytes")

        // Metrics: refused with storage_full (after at most a check interval or one failed write).
        let refusal = try await waitFor("POST /api/metrics refused with storage_full", timeout: .seconds(20)) { () -> (Int, String?)? in
            let answer = try await Self.postMetrics(port: ports.http, key: key)
            if answer.0 == 503 && answer.1 == "storage_full" { return answer }
            try await Task.sleep(for: .milliseconds(500))
            return nil
        }
        #expect(refusal.0 == 503)
        #expect(try await Self.storageState(port: ports.http) == "full")

        // An agent registers (its key's last-use time cannot be written: that is not its fault).
        let (socket, registered) = try Self.register(port: ports.agent, key: key, hostname: "full-1")
        #expect(registered.success, "\(registered.message)")
        // Its METRICS frame is refused for the disk, with server_busy and in_reply_to.
        let frame = #"{"type":"METRICS","message_id":"m-full-1","payload":{"timestamp":"\#(Date().formatted(.iso8601))","cpu":{"cpu_percent_total":1.0,"cpu_count_logical":1}}}"#
        guard case .envelope(let metrics) = try InboundFrame.parse(ByteBuffer(bytes: Array(frame.utf8))) else {
            Issue.record("the test's METRICS frame does not parse")
            return
        }
        try socket.send(metrics)
        let answer = try await waitFor("the METRICS refusal") { () -> ServerResponsePayload? in
            if case .serverResponse(let response) = try socket.next().body, response.inReplyTo == "m-full-1" { return response }
            return nil
        }
        #expect(!answer.success)
        #expect(answer.code == .serverBusy)
        #expect(answer.message.contains("storage_full"), "\(answer.message)")
        // An agent under open enrollment too (a new host: its record cannot be written yet).
        let (_, enrolled) = try Self.register(port: ports.agent, key: nil, hostname: "full-open-1")
        #expect(enrolled.success, "\(enrolled.message)")

        // People sign in, and the token works.
        let api = API(port: ports.http)
        let (agents, status) = try await api.request("GET", "/api/agents")
        #expect(status == 200, "\(String(decoding: agents, as: UTF8.self))")
        #expect(server.output.contains("storage full"), "the condition is logged")

        // Space returns: metrics are accepted again, without a restart.
        try FileManager.default.removeItem(at: filler)
        _ = try await waitFor("POST /api/metrics accepted again", timeout: .seconds(30)) { () -> Bool? in
            let (status, _) = try await Self.postMetrics(port: ports.http, key: key)
            if status == 200 { return true }
            try await Task.sleep(for: .milliseconds(500))
            return nil
        }
        #expect(try await Self.storageState(port: ports.http) == "ok")
        #expect(server.process.isRunning)
    }
}
