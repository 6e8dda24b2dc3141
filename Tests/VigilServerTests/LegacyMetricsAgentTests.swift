import Foundation
import Testing
import VigilMetrics
import VigilProtocol
@testable import VigilServer

/// The Python psutil agent of the original metrics design (shared/design-docs/
/// 3-metrics-dashboard-architecture.md) must get in unmodified (issue 12, defect 10): it sends a
/// zone-less timestamp with microseconds, `boot_time` as `%Y-%m-%d %H:%M:%S` and `uptime` as
/// `"0d 0h 7m"`.
@Suite("The original metrics agent", .serialized)
struct LegacyMetricsAgentTests {
    /// What `datetime.now().isoformat()` and `strftime` print, in UTC.
    static func python(_ date: Date, fraction: Bool) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second, .nanosecond], from: date)
        let base = String(format: "%04d-%02d-%02d%@%02d:%02d:%02d", c.year!, c.month!, c.day!, fraction ? "T" : " ", c.hour!, c.minute!, c.second!)
        return fraction ? base + String(format: ".%06d", c.nanosecond! / 1000) : base
    }

    /// The document exactly as the original agent builds it (psutil's fields, its `system` section).
    static func document(at date: Date, bootedAt boot: Date) -> String {
        """
        {"hostname": "py-host", "timestamp": "\(Self.python(date, fraction: true))",
         "cpu": {"cpu_percent_total": 3.2, "cpu_percent_per_core": [2.0, 4.4], "cpu_count_logical": 2, "cpu_count_physical": 1,
                 "cpu_freq_current": 2400.0, "load_average": [0.05, 0.1, 0.12]},
         "memory": {"memory_total": 8254103552, "memory_available": 5368709120, "memory_used": 2576980378, "memory_free": 1073741824,
                    "memory_percent": 35.0, "swap_total": 0, "swap_used": 0, "swap_free": 0, "swap_percent": 0.0},
         "disk": {"partitions": [{"device": "/dev/vda1", "mountpoint": "/", "fstype": "ext4", "total": 100000, "used": 40000, "free": 60000, "percent": 40.0}]},
         "io": {"network": {"bytes_sent": 1, "bytes_recv": 2, "packets_sent": 3, "packets_recv": 4, "errin": 0, "errout": 0, "dropin": 0, "dropout": 0},
                "disk_io": {"read_count": 1, "write_count": 2, "read_bytes": 3, "write_bytes": 4, "read_time": 5, "write_time": 6}},
         "system": {"os": "Linux", "os_version": "#1 SMP PREEMPT_DYNAMIC Debian 6.1.0", "kernel": "6.1.0-18-amd64", "architecture": "x86_64",
                    "hostname": "py-host", "boot_time": "\(Self.python(boot, fraction: false))", "uptime": "0d 0h 7m"}}
        """
    }

    @Test("POST /api/metrics with X-API-Key and the original agent's exact document: 200, and the host is in /api/servers")
    func originalAgentPost() async throws {
        try await TestServer.with { server in
            let key = try await server.key(for: "py-host")
            let now = Date()
            let boot = now.addingTimeInterval(-420)
            let (status, _, json) = try await server.http("POST", "/api/metrics", headers: ["X-API-Key": key, "Content-Type": "application/json"],
                                                          body: Data(Self.document(at: now, bootedAt: boot).utf8))
            #expect(status == 200, "\(String(describing: json))")
            #expect(json as? [String: String] == ["status": "success", "hostname": "py-host"])
            let (listStatus, _, list) = try await server.http("GET", "/api/servers")
            #expect(listStatus == 200)
            let hosts = (list as? [[String: Any]] ?? []).compactMap { $0["hostname"] as? String }
            #expect(hosts.contains("py-host"))
            let sample = try #require(server.server.metrics.latest.sample(for: "py-host"))
            // Zone-less means UTC: the stored time is the sending instant, to the microsecond.
            #expect(abs(sample.document.timestamp.timeIntervalSince1970 - now.timeIntervalSince1970) < 0.001)
            #expect(sample.document.system?.uptime == 420)
            #expect(abs((sample.document.system?.bootTime ?? 0) - boot.timeIntervalSince1970.rounded(.down)) < 1)
        }
    }

    @Test("date-times: zone-less is UTC, fractions of any length, a space for T, offsets; nonsense is refused")
    func lenientDates() {
        #expect(abs((Date(vigilISO8601: "2026-12-07T10:07:40.310195")?.timeIntervalSince1970 ?? 0) - 1_796_638_060.310195) < 1e-6)
        #expect(Date(vigilISO8601: "2026-12-07T10:07:40")?.timeIntervalSince1970 == 1_796_638_060)
        #expect(Date(vigilISO8601: "2026-12-07 09:47:00")?.timeIntervalSince1970 == 1_796_636_820)
        #expect(abs((Date(vigilISO8601: "2026-12-07T10:07:40.1234567890123456789Z")?.timeIntervalSince1970 ?? 0) - 1_796_638_060.123456789) < 1e-6)
        #expect(Date(vigilISO8601: "2026-12-07T12:07:40+02:00")?.timeIntervalSince1970 == 1_796_638_060)
        #expect(Date(vigilISO8601: "2026-12-07T05:07:40-0500")?.timeIntervalSince1970 == 1_796_638_060)
        #expect(Date(vigilISO8601: "2024-02-29 00:00:00") != nil)
        for bad in ["2026-13-01T00:00:00", "2026-02-30 00:00:00", "2026-12-07T24:00:00", "2026-12-07", "2026-12-07T10:07:40.", "2026-12-07T10:07:40+25:00", "yesterday", "2026-12-07T10:07:40 junk"] {
            #expect(Date(vigilISO8601: bad) == nil, "\(bad)")
        }
    }

    @Test("uptime: seconds, or the \"Nd Nh Nm\" form; anything else names the field")
    func uptimeForms() throws {
        #expect(MetricsDocument.System.uptimeSeconds("0d 0h 7m") == 420)
        #expect(MetricsDocument.System.uptimeSeconds("3d 4h 5m") == 273_900)
        #expect(MetricsDocument.System.uptimeSeconds("12m 30s") == 750)
        #expect(MetricsDocument.System.uptimeSeconds("4h") == 14_400)
        for bad in ["", "7", "5m 3h", "1d 1d", "-1d", "1w", "1.5h"] {
            #expect(MetricsDocument.System.uptimeSeconds(bad) == nil, "\(bad)")
        }
        let body = Data(#"{"system":{"os":"o","kernel":"k","architecture":"a","boot_time":1,"uptime":"a while"}}"#.utf8)
        #expect(throws: ProtocolViolation.self) { try ProtocolViolation.decodeJSON(MetricsDocument.self, from: body) }
        do throws(ProtocolViolation) {
            _ = try ProtocolViolation.decodeJSON(MetricsDocument.self, from: body)
        } catch {
            #expect(error.detail.hasPrefix("system.uptime"))
        }
    }
}
