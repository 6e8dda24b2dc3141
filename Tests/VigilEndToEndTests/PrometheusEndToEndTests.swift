import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// The real `prometheus` (Debian package `prometheus`; .ci/run installs it) scraping a real
/// `vigil server` with a real `vigil-agent`: both targets up, and a host's series queryable.
@Suite("Prometheus scraping a real server", .serialized)
struct PrometheusEndToEndTests {
    static let prometheus: String? = ["/usr/bin/prometheus", "/usr/local/bin/prometheus"].first { FileManager.default.isExecutableFile(atPath: $0) }

    @Test(
        "prometheus scrapes /metrics and /metrics/fleet with the scrape token: up == 1 for both, the agent's CPU series queryable",
        .enabled(if: Self.prometheus != nil, "prometheus is not installed (Debian package prometheus; .ci/run installs it)")
    )
    func scrape() async throws {
        let prometheusBinary = try #require(Self.prometheus)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-e2e-prometheus-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let tokenFile = directory.appendingPathComponent("scrape-token")
        let token = "e2e-scrape-\(UUID().uuidString)"
        try Data((token + "\n").utf8).write(to: tokenFile)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: tokenFile.path)

        let server = try await ToolServer.start(environment: ["VIGIL_METRICS_SCRAPE_TOKEN_FILE": tokenFile.path], openEnrollment: false)
        defer { server.stop() }
        let agent = try Child(try Binaries.path("vigil-agent"), [
            "--server", server.address, "--ca", server.caFile, "--key", try server.key(for: "prom-host"), "--hostname", "prom-host",
            "--metrics-interval", "1", "--backoff-initial", "0.2",
        ], name: "agent-prom-host", directory: directory)
        defer { agent.stop() }

        let port = try Self.freePort()
        let config = directory.appendingPathComponent("prometheus.yml")
        let target = "127.0.0.1:\(server.httpPort)"
        try Data("""
        global:
          scrape_interval: 1s
          scrape_timeout: 1s
        scrape_configs:
          - job_name: vigil
            metrics_path: /metrics
            authorization:
              credentials_file: \(tokenFile.path)
            static_configs:
              - targets: ['\(target)']
          - job_name: vigil_fleet
            metrics_path: /metrics/fleet
            authorization:
              credentials_file: \(tokenFile.path)
            static_configs:
              - targets: ['\(target)']

        """.utf8).write(to: config)
        let prometheus = try Child(prometheusBinary, [
            "--config.file=\(config.path)", "--storage.tsdb.path=\(directory.appendingPathComponent("tsdb").path)",
            "--web.listen-address=127.0.0.1:\(port)", "--log.level=warn",
        ], name: "prometheus", directory: directory)
        defer { prometheus.stop() }

        let query = PrometheusQuery(port: port)
        do {
            let up = try await waitFor("both targets up in prometheus", timeout: .seconds(60)) { () -> [String: String]? in
                let results = try await query.vector("up")
                let byJob = Dictionary(results.map { ($0.labels["job"] ?? "", $0.value) }, uniquingKeysWith: { a, _ in a })
                return byJob["vigil"] == "1" && byJob["vigil_fleet"] == "1" ? byJob : nil
            }
            #expect(up.count == 2)
            let cpu = try await waitFor("prom-host's CPU series in prometheus", timeout: .seconds(60)) { () -> [PrometheusQuery.Sample]? in
                let results = try await query.vector(#"vigil_cpu_percent{host="prom-host"}"#)
                return results.isEmpty ? nil : results
            }
            #expect(cpu.count == 1)
            #expect(cpu.first.flatMap { Double($0.value) }.map { (0...100).contains($0) } == true, "\(cpu)")
            #expect(cpu.first?.labels["job"] == "vigil_fleet")
            let hostUp = try await query.vector(#"vigil_host_up{host="prom-host"}"#)
            #expect(hostUp.first?.value == "1", "\(hostUp)")
            let heartbeats = try await query.vector("vigil_agent_heartbeats_total")
            #expect(heartbeats.first.flatMap { Double($0.value) }.map { $0 >= 1 } == true, "\(heartbeats)")
        } catch {
            Issue.record("prometheus log:\n\(prometheus.output.suffix(4000))\nserver log:\n\(server.server.output.suffix(4000))")
            throw error
        }
    }

    /// A port free now on 127.0.0.1 (prometheus cannot report the one it bound for port 0).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw E2EError("socket: errno \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw E2EError("bind: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// Prometheus' HTTP API: instant queries.
struct PrometheusQuery {
    let port: Int

    struct Sample: CustomStringConvertible {
        var labels: [String: String]
        var value: String
        var description: String { "\(self.labels) = \(self.value)" }
    }

    /// `GET /api/v1/query?query=…`: the vector's samples; none while prometheus is not answering yet.
    func vector(_ expression: String) async throws -> [Sample] {
        var components = URLComponents(string: "http://127.0.0.1:\(self.port)/api/v1/query")!
        components.queryItems = [URLQueryItem(name: "query", value: expression)]
        let data: Data
        do {
            (data, _) = try await URLSession.shared.data(from: components.url!)
        } catch {
            return []  // not listening yet
        }
        guard let json = try JSONSerialization.jsonObject(with: data) as? [String: Any], json["status"] as? String == "success",
              let result = (json["data"] as? [String: Any])?["result"] as? [[String: Any]] else {
            throw E2EError("prometheus answered \(String(decoding: data.prefix(500), as: UTF8.self))")
        }
        return result.compactMap { item in
            guard let labels = item["metric"] as? [String: String], let value = item["value"] as? [Any], value.count == 2, let text = value[1] as? String else { return nil }
            return Sample(labels: labels, value: text)
        }
    }
}
