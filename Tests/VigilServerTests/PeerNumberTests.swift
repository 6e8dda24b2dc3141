import Foundation
import PropertyBased
import Synchronization
import Testing
import VigilMetrics
import VigilProtocol
@testable import VigilServer

/// Numbers from a peer (issue 12, defect 1): `"timestamp": 1e300` trapped the server
/// (`Int(timestamp - received)`), so any key holder could stop it. Every numeric field of the
/// metrics document and of the protocol's envelopes is fed extreme values: the answer is a
/// sample taken, or a refusal naming the field, and never a crash.
@Suite("Numbers from peers", .serialized)
struct PeerNumberTests {
    /// JSON number literals at and past every edge: integer limits and one past them, negative
    /// zero, fractions where integers belong, the largest and smallest doubles, and numbers no
    /// double holds.
    static let extremes = [
        "0", "-0", "-1", "1", "1.5", "-1.5", "1e300", "-1e300", "1e400", "-1e400", "9.3e18", "1e-320",
        "9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
        "18446744073709551615", "18446744073709551616", "2147483648", "4294967296",
        "1.7976931348623157e308", "4.9e-324", "100.5", "100.6", "253402300799", "253402300800",
    ]

    /// A literal: one of ``extremes``, or a random double or integer of any magnitude.
    static let literal = Gen<String>.oneOf(
        Gen<String?>.element(of: Self.extremes).compactMap { $0 },
        // Any magnitude: 10^x for x over the whole double range, either sign (a uniform draw
        // from -1e308...1e308 is not possible: the width overflows).
        Gen<Double>.double(in: -330...308).map { "\(Foundation.pow(10, $0))" },
        Gen<Double>.double(in: -330...308).map { "-\(Foundation.pow(10, $0))" },
        Gen<Int>.int(in: Int.min...Int.max).map { "\($0)" },
        Gen<Double>.double(in: -1000...1000).map { "\($0)" }
    )

    /// Every numeric field of a metrics document, as the JSON that holds the placeholder `N`.
    static let metricsFields: [(path: String, json: String)] = [
        ("timestamp", #""timestamp":N"#),
        ("cpu.cpu_percent_total", #""cpu":{"cpu_percent_total":N,"cpu_count_logical":2}"#),
        ("cpu.cpu_percent_per_core[1]", #""cpu":{"cpu_percent_per_core":[5,N],"cpu_count_logical":2}"#),
        ("cpu.cpu_count_logical", #""cpu":{"cpu_count_logical":N}"#),
        ("cpu.cpu_count_physical", #""cpu":{"cpu_count_logical":2,"cpu_count_physical":N}"#),
        ("cpu.cpu_freq_current", #""cpu":{"cpu_count_logical":2,"cpu_freq_current":N}"#),
        ("cpu.load_average[2]", #""cpu":{"cpu_count_logical":2,"load_average":[0.1,0.2,N]}"#),
        ("memory.memory_total", #""memory":{"memory_total":N,"memory_available":1,"memory_used":1,"memory_free":1,"memory_percent":1,"swap_total":0,"swap_used":0,"swap_free":0,"swap_percent":0}"#),
        ("memory.memory_percent", #""memory":{"memory_total":9,"memory_available":1,"memory_used":1,"memory_free":1,"memory_percent":N,"swap_total":0,"swap_used":0,"swap_free":0,"swap_percent":0}"#),
        ("memory.swap_free", #""memory":{"memory_total":9,"memory_available":1,"memory_used":1,"memory_free":1,"memory_percent":1,"swap_total":0,"swap_used":0,"swap_free":N,"swap_percent":0}"#),
        ("memory.swap_percent", #""memory":{"memory_total":9,"memory_available":1,"memory_used":1,"memory_free":1,"memory_percent":1,"swap_total":0,"swap_used":0,"swap_free":0,"swap_percent":N}"#),
        ("disk.partitions[0].total", #""disk":{"partitions":[{"device":"d","mountpoint":"/","fstype":"ext4","total":N,"used":1,"free":1,"percent":50}]}"#),
        ("disk.partitions[0].percent", #""disk":{"partitions":[{"device":"d","mountpoint":"/","fstype":"ext4","total":2,"used":1,"free":1,"percent":N}]}"#),
        ("io.network.bytes_sent", #""io":{"network":{"bytes_sent":N,"bytes_recv":0,"packets_sent":0,"packets_recv":0,"errin":0,"errout":0,"dropin":0,"dropout":0}}"#),
        ("io.network.bytes_recv_per_sec", #""io":{"network":{"bytes_sent":0,"bytes_recv":0,"packets_sent":0,"packets_recv":0,"errin":0,"errout":0,"dropin":0,"dropout":0,"bytes_recv_per_sec":N}}"#),
        ("io.disk_io.read_time", #""io":{"disk_io":{"read_count":0,"write_count":0,"read_bytes":0,"write_bytes":0,"read_time":N,"write_time":0}}"#),
        ("io.disk_io.write_bytes_per_sec", #""io":{"disk_io":{"read_count":0,"write_count":0,"read_bytes":0,"write_bytes":0,"read_time":0,"write_time":0,"write_bytes_per_sec":N}}"#),
        ("system.boot_time", #""system":{"os":"o","kernel":"k","architecture":"a","boot_time":N,"uptime":1}"#),
        ("system.uptime", #""system":{"os":"o","kernel":"k","architecture":"a","boot_time":1,"uptime":N}"#),
        ("processes.total", #""processes":{"total":N,"top_cpu":[],"top_memory":[]}"#),
        ("processes.top_cpu[0].pid", #""processes":{"total":1,"top_cpu":[{"pid":N,"name":"p","user":"u","cpu_percent":1,"rss":1}],"top_memory":[]}"#),
        ("processes.top_cpu[0].cpu_percent", #""processes":{"total":1,"top_cpu":[{"pid":1,"name":"p","user":"u","cpu_percent":N,"rss":1}],"top_memory":[]}"#),
        ("processes.top_memory[0].rss", #""processes":{"total":1,"top_cpu":[],"top_memory":[{"pid":1,"name":"p","user":"u","cpu_percent":1,"rss":N}]}"#),
    ]

    /// Decodes a metrics document body and ingests it, as `POST /api/metrics` and `METRICS` do.
    /// - Returns: `nil` when taken, else the refusal's detail.
    static func ingest(_ body: String, into ingestor: MetricsIngestor, host: String) -> String? {
        do {
            let document = try ProtocolViolation.decodeJSON(MetricsDocument.self, from: Data(body.utf8))
            try ingestor.ingest(document, hostname: host)
            return nil
        } catch let violation as ProtocolViolation {
            return violation.detail
        } catch let refusal as IngestRefusal {
            return refusal.detail
        } catch {
            return "\(error)"
        }
    }

    @Test("every numeric field of a metrics document, fed extreme numbers: taken, or refused naming that field")
    func metricsDocumentFields() async {
        var settings = ServerSettings()
        settings.metricsRateLimit = 1_000_000
        settings.metricsRateBurst = 1_000_000
        let ingestor = MetricsIngestor(settings: settings, logger: .init(label: "test"))
        let field = Gen<Int>.int(in: 0...(Self.metricsFields.count - 1))
        let counter = HostCounter()
        await propertyCheck(count: 2000, input: field, Self.literal) { index, literal in
            let (path, template) = Self.metricsFields[index]
            // A fresh host each time, and a timestamp in range unless it is the field under test.
            let host = "h\(counter.next())"
            let timestamp = path == "timestamp" ? "" : #""timestamp":\#(Date().timeIntervalSince1970 - 1),"#
            let body = "{\(timestamp)\(template.replacingOccurrences(of: "N", with: literal))}"
            if let refusal = Self.ingest(body, into: ingestor, host: host) {
                #expect(refusal.hasPrefix(path), "\(body) was refused without naming \(path): \(refusal)")
            }
        }
    }

    /// Every numeric field of the envelopes a client sends, as JSON with the placeholder `N`.
    static let envelopeFields: [(path: String, json: String)] = [
        ("timestamp", #"{"type":"HEARTBEAT","payload":{"seq":1},"timestamp":N}"#),
        ("payload.seq", #"{"type":"HEARTBEAT","payload":{"seq":N}}"#),
        ("payload.protocol_version", #"{"type":"CLIENT_REGISTER","payload":{"protocol_version":N,"hostname":"h"}}"#),
        ("payload.seq", #"{"type":"CLIENT_MESSAGE","payload":{"content":"hi","recipient":null,"seq":N}}"#),
        ("payload.size", #"{"type":"FILE_OFFER","payload":{"transfer_id":"6f0c1d2e-3a4b-4c5d-8e9f-0a1b2c3d4e5f","filename":"f","size":N,"sha256":"\#(String(repeating: "ab", count: 32))"}}"#),
        ("payload.offset", #"{"type":"FILE_READY","payload":{"transfer_id":"t","offset":N,"chunk_size":1}}"#),
        ("payload.chunk_size", #"{"type":"FILE_READY","payload":{"transfer_id":"t","offset":0,"chunk_size":N}}"#),
    ]

    @Test("every numeric field of a client's envelopes, fed extreme numbers: decoded, or refused naming that field")
    func envelopeFieldsProperty() async {
        let field = Gen<Int>.int(in: 0...(Self.envelopeFields.count - 1))
        await propertyCheck(count: 1000, input: field, Self.literal) { index, literal in
            let (path, template) = Self.envelopeFields[index]
            let json = template.replacingOccurrences(of: "N", with: literal)
            do throws(ProtocolViolation) {
                _ = try Envelope.decode(jsonFrame: .init(string: json))
            } catch {
                // Other fields of these small frames may be missing (a FILE_OFFER's sha256 is
                // checked later); a refusal about the number itself must name its field.
                if error.code == .invalidField || error.code == .invalidJSON {
                    #expect(error.detail.hasPrefix(path), "\(json) was refused without naming \(path): \(error)")
                }
            }
        }
    }

    @Test("timestamp 1e300 in POST /api/metrics and in a METRICS frame: refused naming the field; the server goes on")
    func hugeTimestampRegression() async throws {
        try await TestServer.with { server in
            let key = try await server.key(for: "far-future")
            let body = Data(#"{"timestamp":1e300,"cpu":{"cpu_percent_total":1,"cpu_count_logical":1}}"#.utf8)
            let (status, _, json) = try await server.http("POST", "/api/metrics", headers: ["X-API-Key": key], body: body)
            #expect(status == 400)
            #expect((json as? [String: String])?["error"] == "invalid_field")
            #expect((json as? [String: String])?["detail"]?.hasPrefix("timestamp:") == true)

            let peer = try await RawPeer.connect(port: server.agentPort)
            try await peer.register(key: key, hostname: "far-future")
            #expect(try await peer.response()?.success == true)
            try await peer.send(json: #"{"type":"METRICS","message_id":"m-1","payload":{"timestamp":1e300,"cpu":{"cpu_percent_total":1,"cpu_count_logical":1}}}"#)
            let reply = try #require(try await peer.response())
            #expect(reply.code == .invalidField && !reply.fatal && reply.inReplyTo == "m-1")
            #expect(reply.message.hasPrefix("timestamp:"))
            try await peer.send(Envelope(.heartbeat(HeartbeatPayload(seq: 1))))
            #expect(try await peer.ack()?.seq == 1, "the server is still up")
            await peer.close()
        }
    }

    @Test("numeric query parameters at every edge: 200 or 400 naming the parameter, and the server goes on")
    func queryParameters() async throws {
        try await TestServer.with { server in
            let key = try await server.key(for: "q-host")
            let (posted, _, _) = try await server.http("POST", "/api/metrics", headers: ["X-API-Key": key],
                                                       body: Data(#"{"cpu":{"cpu_percent_total":5,"cpu_count_logical":1}}"#.utf8))
            #expect(posted == 200)
            let values = ["0", "-1", "1e300", "-1e300", "1e400", "9223372036854775808", "-9223372036854775809", "1.5", "nan", "inf", "-inf", "1e-320"]
            var paths: [(String, String)] = []
            for value in values {
                let v = value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? value
                paths += [
                    ("from", "/api/servers/q-host/history?metric=cpu.percent&from=\(v)"),
                    ("to", "/api/servers/q-host/history?metric=cpu.percent&from=0&to=\(v)"),
                    ("step", "/api/servers/q-host/history?metric=cpu.percent&step=\(v)"),
                    ("step", "/api/servers/q-host/history?metric=cpu.percent&from=-1e300&to=1e300&step=\(v)s"),
                    ("from", "/api/servers/q-host/stats?from=\(v)"),
                    ("limit", "/api/events?limit=\(v)"),
                    ("before", "/api/events?before=\(v)"),
                    ("limit", "/api/messages?limit=\(v)"),
                    ("before", "/api/messages?before=\(v)"),
                    ("limit", "/api/files?limit=\(v)"),
                    ("before", "/api/files?before=\(v)"),
                ]
            }
            for (parameter, path) in paths {
                let (status, _, json) = try await server.http("GET", path)
                let answer = json as? [String: Any]
                #expect(status == 200 || status == 400, "\(path): \(status) \(String(describing: json))")
                if status == 400 {
                    let detail = answer?["detail"] as? String ?? ""
                    #expect(detail.contains(parameter) || answer?["error"] as? String == "too_many_points", "\(path): \(detail)")
                }
            }
            let (health, _, _) = try await server.http("GET", "/api/health")
            #expect(health == 200)
        }
    }

    @Test("an integer field given 1e300 or -1 is refused naming the field (Foundation names none)")
    func integerOutOfRangeNamesField() async throws {
        for (body, path) in [
            (#"{"memory":{"memory_total":-5}}"#, "memory.memory_total"),
            (#"{"cpu":{"cpu_count_logical":1e300}}"#, "cpu.cpu_count_logical"),
            (#"{"processes":{"total":1,"top_cpu":[{"pid":1.5,"name":"p","user":"u","rss":1}],"top_memory":[]}}"#, "processes.top_cpu[0].pid"),
            (#"{"cpu":{"cpu_count_logical":1,"cpu_percent_total":1e400}}"#, "cpu.cpu_percent_total"),
        ] {
            #expect(throws: ProtocolViolation.self) { try ProtocolViolation.decodeJSON(MetricsDocument.self, from: Data(body.utf8)) }
            do throws(ProtocolViolation) {
                _ = try ProtocolViolation.decodeJSON(MetricsDocument.self, from: Data(body.utf8))
            } catch {
                #expect(error.code == .invalidField)
                #expect(error.detail.hasPrefix(path), "\(body): \(error.detail)")
            }
        }
    }
}

/// Distinct host names across a property check's runs.
private final class HostCounter: Sendable {
    private let value = Mutex(0)
    func next() -> Int { self.value.withLock { $0 += 1; return $0 } }
}
