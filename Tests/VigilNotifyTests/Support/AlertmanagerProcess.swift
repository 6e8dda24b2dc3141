import Foundation

/// The real Alertmanager (Debian's `prometheus-alertmanager`) on a free port with a null receiver,
/// its storage in a temporary directory; ``stop()`` kills it and removes the directory.
final class AlertmanagerProcess: @unchecked Sendable {
    /// The binary, as Debian names it or as upstream does; nil when not installed.
    static let executable = executableOnPath("prometheus-alertmanager", "alertmanager")

    let directory: URL
    let child: ChildProcess
    let port: Int
    var baseURL: String { "http://127.0.0.1:\(self.port)" }

    init() async throws {
        guard let executable = Self.executable else { throw TestFailure("alertmanager is not installed") }
        self.directory = try temporaryDirectory("vigil-notify-alertmanager")
        let config = self.directory.appendingPathComponent("alertmanager.yml")
        try writePrivate("route:\n  receiver: \"null\"\nreceivers:\n  - name: \"null\"\n", to: config)
        let storage = self.directory.appendingPathComponent("data")
        try FileManager.default.createDirectory(at: storage, withIntermediateDirectories: true)
        self.port = try freePort()
        self.child = try ChildProcess(executable, [
            "--config.file=\(config.path)", "--storage.path=\(storage.path)",
            "--web.listen-address=127.0.0.1:\(self.port)", "--cluster.listen-address=", "--log.level=warn",
        ], log: self.directory.appendingPathComponent("alertmanager.log"))
        let url = "\(self.baseURL)/-/ready"
        do {
            _ = try await waitFor("alertmanager at \(url)", timeout: .seconds(30)) { () async throws -> Bool? in
                guard self.child.isRunning else { throw TestFailure("alertmanager exited: \(self.child.output)") }
                return try await httpGet(url).status == 200 ? true : nil
            }
        } catch {
            self.stop()
            throw TestFailure("alertmanager did not become ready: \(error)\n\(self.child.output)")
        }
    }

    /// `GET /api/v2/alerts` (active, silenced, inhibited and unprocessed: the defaults).
    func alerts() async throws -> [[String: Any]] {
        let (status, body) = try await httpGet("\(self.baseURL)/api/v2/alerts")
        guard status == 200 else { throw TestFailure("GET /api/v2/alerts: \(status)") }
        return try JSONSerialization.jsonObject(with: body) as? [[String: Any]] ?? []
    }

    func stop() {
        self.child.stop()
        try? FileManager.default.removeItem(at: self.directory)
    }
}
