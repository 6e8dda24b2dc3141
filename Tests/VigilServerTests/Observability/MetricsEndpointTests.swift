import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
import VigilAPI
import VigilMetrics
import VigilProtocol
@testable import VigilServer

/// `GET /metrics` and `GET /metrics/fleet` on a real server in this process: who may read them,
/// what they count, and what `promtool check metrics` says of them.
@Suite("Prometheus endpoints")
struct MetricsEndpointTests {
    static let scrapeToken = "scrape-token-for-tests-0123456789"

    /// A GET with an optional `Authorization: Bearer` header; the status, content type and body text.
    static func get(_ server: TestServer, _ path: String, bearer: String?) async throws -> (status: Int, contentType: String, text: String) {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(server.httpPort)\(path)")!)
        if let bearer { request.setValue("Bearer \(bearer)", forHTTPHeaderField: "Authorization") }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as! HTTPURLResponse
        return (http.statusCode, http.value(forHTTPHeaderField: "Content-Type") ?? "", String(decoding: data, as: UTF8.self))
    }

    static func withServer(scrapeToken: Bool = true, _ body: (TestServer) async throws -> Void) async throws {
        try await TestServer.with({ settings in
            if scrapeToken { settings.metricsScrapeToken = ScrapeToken(token: Self.scrapeToken) }
        }, body)
    }

    @Test("both endpoints: 401 without a token and with a wrong scrape token; 200 with the scrape token and for a viewer")
    func access() async throws {
        try await Self.withServer { server in
            let viewer = try await server.user("watcher", role: .viewer)
            for path in ["/metrics", "/metrics/fleet"] {
                let anonymous = try await Self.get(server, path, bearer: nil)
                #expect(anonymous.status == 401, "\(path) without a token")
                #expect(anonymous.text.contains("unauthorized"), "\(path): \(anonymous.text)")
                #expect(try await Self.get(server, path, bearer: "not-the-scrape-token").status == 401, "\(path) with a wrong token")
                #expect(try await Self.get(server, path, bearer: String(Self.scrapeToken.dropLast())).status == 401, "\(path) with a prefix of the token")
                let scraped = try await Self.get(server, path, bearer: Self.scrapeToken)
                #expect(scraped.status == 200, "\(path) with the scrape token")
                #expect(scraped.contentType.hasPrefix("text/plain; version=0.0.4"), "\(path): \(scraped.contentType)")
                #expect(try await Self.get(server, path, bearer: viewer).status == 200, "\(path) as a viewer")
                #expect(try await Self.get(server, path, bearer: try await server.adminAccessToken()).status == 200, "\(path) as the admin")
            }
        }
    }

    @Test("without a configured scrape token, a bearer that is no session token is refused")
    func noScrapeToken() async throws {
        try await Self.withServer(scrapeToken: false) { server in
            let scrapeToken = try await Self.get(server, "/metrics", bearer: Self.scrapeToken)
            let empty = try await Self.get(server, "/metrics", bearer: "")
            let admin = try await Self.get(server, "/metrics", bearer: try await server.adminAccessToken())
            #expect(scrapeToken.status == 401)
            #expect(empty.status == 401)
            #expect(admin.status == 200)
        }
    }

    @Test("an agent's register, heartbeats and a sample show in both; promtool check metrics says nothing of either", .enabled(if: Promtool.path != nil, Promtool.skipReason))
    func countsAndLint() async throws {
        try await Self.withServer { server in
            let peer = try await RawPeer.connect(port: server.agentPort)
            defer { Task { await peer.close() } }
            try await peer.register(key: try await server.key(for: "web1"), hostname: "web1")
            #expect(try await peer.response()?.success == true)
            for seq in 1...3 {
                try await peer.send(Envelope(.heartbeat(HeartbeatPayload(seq: UInt64(seq))), messageID: "h\(seq)"))
                #expect(try await peer.ack() != nil)
            }
            var document = MetricsDocument(timestamp: Date())
            document.cpu = .init(cpuPercentTotal: 42.5, cpuCountLogical: 2)
            document.disk = .init(partitions: [.init(device: "/dev/x", mountpoint: "/mnt/\"odd\"\nname\\", fstype: "ext4", total: 10, used: 5, free: 5, percent: 50)])
            try server.server.metrics.ingest(document, hostname: "web1")
            // A route with a parameter, so the latency histogram has a pattern label.
            _ = try await server.http("GET", "/api/servers/nosuch/current")
            try await eventually(timeout: .seconds(5), "the sample to be stored") {
                try await Self.get(server, "/metrics", bearer: Self.scrapeToken).text.contains("vigil_metrics_samples_stored_total 1")
            }

            let own = try await Self.get(server, "/metrics", bearer: Self.scrapeToken).text
            #expect(own.contains("vigil_agent_heartbeats_total 3"), "\(own)")
            #expect(own.contains(#"vigil_agent_frames_received_total{type="CLIENT_REGISTER"} 1"#))
            #expect(own.contains(#"vigil_agent_frames_received_total{type="HEARTBEAT"} 3"#))
            #expect(own.contains(#"vigil_agent_connections{phase="registered"} 1"#))
            #expect(own.contains(#"vigil_agent_sessions{kind="agent"} 1"#))
            #expect(own.contains(#"route="/api/servers/{hostname}/current""#) || own.contains(#"route="/api/servers/:hostname/current""#), "the route pattern, not the path")
            #expect(!own.contains("nosuch"), "no raw path in a label")
            #expect(own.contains(#"vigil_alerts_firing{severity="critical"} 0"#))

            let fleet = try await Self.get(server, "/metrics/fleet", bearer: Self.scrapeToken).text
            #expect(fleet.contains(#"vigil_host_up{host="web1"} 1"#), "\(fleet)")
            #expect(fleet.contains(#"vigil_host_state{host="web1",state="HEALTHY"} 1"#))
            #expect(fleet.contains(#"vigil_cpu_percent{host="web1"} 42.5"#))

            for (path, text) in [("/metrics", own), ("/metrics/fleet", fleet)] {
                let lint = try await Promtool.checkMetrics(Array(text.utf8))
                #expect(lint.status == 0 && lint.output.isEmpty, "promtool on \(path): exit \(lint.status): \(lint.output)")
            }
        }
    }

    @Test("protocol errors are counted by code and outcome")
    func protocolErrors() async throws {
        try await Self.withServer { server in
            let peer = try await RawPeer.connect(port: server.agentPort)
            defer { Task { await peer.close() } }
            try await peer.send(json: #"{"type": "HEARTBEAT""#)  // truncated JSON before registration: fatal
            _ = try await peer.waitForClose()
            try await eventually(timeout: .seconds(5), "the error to be counted") {
                let own = try await Self.get(server, "/metrics", bearer: Self.scrapeToken).text
                return own.contains(#"vigil_agent_frames_received_total{type="invalid"} 1"#) && own.contains(#"outcome="closed""#)
            }
        }
    }

    @Test("the scrape token is kept as a hash and never printed")
    func tokenNotKept() {
        let token = ScrapeToken(token: "s3cret-value")
        #expect(token.matches("s3cret-value"))
        #expect(!token.matches("s3cret-valuf"))
        #expect(!token.matches(""))
        #expect(!"\(token)".contains("s3cret"))
        #expect(!String(reflecting: token).contains("s3cret"))
    }

    @Test("the scrape token file: first line, trimmed; an empty or missing file is a configuration error naming the key")
    func tokenFile() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-scrape-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("token")
        try Data("  from-a-file \nsecond line\n".utf8).write(to: file)
        let settings = try await ServerSettings.load(environment: ["VIGIL_METRICS_SCRAPE_TOKEN_FILE": file.path])
        #expect(settings.metricsScrapeToken?.matches("from-a-file") == true)
        let fromEnvironment = try await ServerSettings.load(environment: ["VIGIL_METRICS_SCRAPE_TOKEN": "from-the-environment"])
        #expect(fromEnvironment.metricsScrapeToken?.matches("from-the-environment") == true)
        #expect(try await ServerSettings.load(environment: [:]).metricsScrapeToken == nil)

        try Data("\n".utf8).write(to: file)
        let empty = await #expect(throws: ConfigurationError.self) {
            try await ServerSettings.load(environment: ["VIGIL_METRICS_SCRAPE_TOKEN_FILE": file.path])
        }
        #expect(empty?.description.contains("metrics.scrape_token_file") == true, "\(String(describing: empty))")
        let missing = await #expect(throws: ConfigurationError.self) {
            try await ServerSettings.load(environment: ["VIGIL_METRICS_SCRAPE_TOKEN_FILE": directory.appendingPathComponent("missing").path])
        }
        #expect(missing?.description.contains("metrics.scrape_token_file") == true, "\(String(describing: missing))")
        await #expect(throws: ConfigurationError.self) {
            try await ServerSettings.load(environment: ["VIGIL_METRICS_SCRAPE_TOKEN": "   "])
        }
    }
}
