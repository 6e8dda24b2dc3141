import Foundation
import VigilMetrics
import VigilServer

/// Writes an alerting file for a test and removes it with the server's directory.
func alertingFile(_ yaml: String) throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-alerting-\(UUID().uuidString).yaml").path
    try yaml.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

extension TestServer {
    /// Feeds one sample straight into the ingestor (as an agent's METRICS frame would), at
    /// `offset` seconds from now on the server's clock, with two processes eating CPU.
    func sample(_ host: String, cpu: Double, perCore: [Double]? = nil, offset: TimeInterval = 0, sequence: Int) throws {
        let received = Date().addingTimeInterval(offset)
        var document = MetricsDocument(timestamp: Date(timeIntervalSince1970: received.timeIntervalSince1970.rounded(.down) - 600 + Double(sequence) * 0.001))
        document.cpu = MetricsDocument.CPU(cpuPercentTotal: cpu, cpuPercentPerCore: perCore, cpuCountLogical: 2)
        document.processes = MetricsDocument.Processes(total: 3, topCPU: [
            .init(pid: 41, name: "burner", user: "root", cpuPercent: 180, rss: 1 << 20),
            .init(pid: 42, name: "postgres", user: "postgres", cpuPercent: 12, rss: 1 << 28),
        ], topMemory: [])
        try self.server.metrics.ingest(document, hostname: host, receivedAt: received)
    }

    /// `GET /api/alerts` as a list of JSON objects.
    func activeAlerts() async throws -> [[String: Any]] {
        ((try await self.http("GET", "/api/alerts").json as? [String: Any])?["alerts"] as? [[String: Any]]) ?? []
    }
}
