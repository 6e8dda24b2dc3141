import Foundation
import Testing

/// Alerting with real binaries end to end: a `vigil-agent` on this host, a CPU burner, the real
/// `alertmanager`, a real SMTP server and a webhook receiver; a SIGKILLed agent; a SIGKILLed server.
@Suite("Alerting end to end", .serialized)
struct AlertingEndToEndTests {
    static let secret = "e2e-webhook-secret-\(UUID().uuidString.prefix(8))"

    /// The webhook requests of one rule and reason.
    static func notifications(_ receivers: AlertReceivers, rule: String, reason: String) -> [[String: Any]] {
        receivers.webhookRequests.compactMap { $0["body"] as? [String: Any] }.filter { body in
            body["reason"] as? String == reason && ((body["alerts"] as? [[String: Any]]) ?? []).contains { $0["rule"] as? String == rule }
        }
    }

    static func burner(_ directory: URL, _ index: Int) throws -> Child {
        try Child("/usr/bin/env", ["python3", "-c", "while True: pass"], name: "burner-\(index)", directory: directory)
    }

    @Test(
        "a CPU rule (over 90 % for 2 s) fires once to the webhook, Alertmanager and email with the top processes; acknowledge stops repeats; one resolved each; a SIGKILLed agent's host_down reaches the webhook within 3 s of DOWN",
        .enabled(if: AlertReceivers.alertmanagerBinary != nil || ProcessInfo.processInfo.environment["CI"] != nil, "needs prometheus-alertmanager (apt-get install prometheus-alertmanager; .ci/run does)")
    )
    func cpuRuleThroughEveryChannel() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-e2e-alerting-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let receivers = try await AlertReceivers.start(in: directory)
        defer { receivers.stop() }
        try #require(receivers.alertmanager != nil, "alertmanager is not installed")
        try #require(receivers.smtp != nil, "aiosmtpd is not installed (pip install aiosmtpd; .ci/run does)")
        let file = directory.appendingPathComponent("alerting.yaml")
        try """
            rules:
              - {name: cpu_burn, series: cpu.percent, aggregate: last, op: ">", threshold: 90, recovery: 75, for: 2s, severity: critical, summary: "CPU on {{host}} at {{value}}%"}
            channels:
              - {name: hook, type: webhook, url: "http://127.0.0.1:\(receivers.webhookPort)/hook", secret: "\(Self.secret)", timeout: 5s}
              - {name: am, type: alertmanager, url: "http://127.0.0.1:\(receivers.alertmanagerPort)", timeout: 5s, resend_interval: 2s}
              - {name: mail, type: email, host: 127.0.0.1, port: \(receivers.smtpPort), tls: none, from: vigil@example.test, to: [oncall@example.test], timeout: 5s}
            routes:
              - {channels: [hook, am, mail], group_wait: 200ms, repeat_interval: 2s}
            """.write(to: file, atomically: true, encoding: .utf8)
        let server = try await ToolServer.start(environment: [
            "VIGIL_ALERTING_FILE": file.path, "VIGIL_ALERTING_TICK": "200ms", 
            "VIGIL_ALERTING_RETRY_INITIAL": "200ms",
        ])
        defer { server.stop() }
        let host = "burn-\(UUID().uuidString.prefix(6).lowercased())"
        let agent = try Child(try Binaries.path("vigil-agent"), [
            "--server", server.address, "--ca", server.caFile, "--hostname", host, "--metrics-interval", "1", "--log-level", "info",
        ], name: "agent-\(host)", directory: server.directory)
        defer { agent.stop() }
        _ = try await waitFor("\(host) to register", timeout: .seconds(30)) { agent.output.contains("registered") ? true : nil }

        // Burn every core: CPU goes over 90 % and stays there for the rule's 2 s; when the burners stop
        // it falls below 75 % (the recovery threshold) even with the test's own processes running.
        let burners = try (0..<max(2, ProcessInfo.processInfo.activeProcessorCount)).map { try Self.burner(directory, $0) }
        defer { for burner in burners { burner.stop() } }
        let firing = try await waitFor("the firing notification at the webhook", timeout: .seconds(60)) { () -> [String: Any]? in
            Self.notifications(receivers, rule: "cpu_burn", reason: "firing").first
        }
        let alert = try #require((firing["alerts"] as? [[String: Any]])?.first { $0["rule"] as? String == "cpu_burn" })
        #expect(alert["hostname"] as? String == host)
        let processes = (alert["top_processes"] as? [[String: Any]]) ?? []
        let burnerPIDs = Set(burners.map { Int($0.pid) })
        #expect(processes.contains { burnerPIDs.contains($0["pid"] as? Int ?? -1) }, "top processes \(processes) name no burner \(burnerPIDs)")
        let request = try #require(receivers.webhookRequests.first { ($0["body"] as? [String: Any])?["reason"] as? String == "firing" })
        #expect((request["signature"] as? String)?.hasPrefix("sha256=") == true)
        #expect(request["delivery"] as? String == firing["id"] as? String)

        // Alertmanager has it, with the processes; the mailbox too.
        let managed = try await waitFor("the alert in Alertmanager", timeout: .seconds(20)) { () -> [String: Any]? in
            try await receivers.alertmanagerAlerts().first { ($0["labels"] as? [String: String])?["alertname"] == "cpu_burn" }
        }
        #expect((managed["labels"] as? [String: String])?["host"] == host)
        let annotations = (managed["annotations"] as? [String: String]) ?? [:]
        #expect(burnerPIDs.contains { annotations.values.joined(separator: " ").contains("\($0)") }, "annotations \(annotations)")
        let mail = try await waitFor("the firing email", timeout: .seconds(20)) { () -> String? in
            receivers.mails.first { $0.contains("FIRING") && $0.contains("cpu_burn") }
        }
        #expect(burnerPIDs.contains { mail.contains("\($0)") }, "the email names no burner")

        // Unacknowledged, it repeats (every 2 s); acknowledged, it stops.
        _ = try await waitFor("a repeat at the webhook", timeout: .seconds(20)) { Self.notifications(receivers, rule: "cpu_burn", reason: "repeated").first }
        let alertID = try #require(alert["alert_id"] as? Int)
        let (answer, status) = try await server.api.request("POST", "/api/alerts/\(alertID)/ack", body: Data(#"{"comment": "burning on purpose"}"#.utf8))
        #expect(status == 200, "ack: \(String(decoding: answer, as: UTF8.self))")
        try await Task.sleep(for: .milliseconds(500))  // a repeat already being sent may still land
        let repeatsAtAck = Self.notifications(receivers, rule: "cpu_burn", reason: "repeated").count
        let mailsAtAck = receivers.mails.count
        try await Task.sleep(for: .seconds(5))  // two and a half repeat intervals
        #expect(Self.notifications(receivers, rule: "cpu_burn", reason: "repeated").count == repeatsAtAck, "repeats after the acknowledgement")
        #expect(receivers.mails.count == mailsAtAck, "emails after the acknowledgement")

        // The burners stop: one resolved notification on each channel.
        for burner in burners { burner.stop() }
        _ = try await waitFor("the resolved notification at the webhook", timeout: .seconds(60)) { Self.notifications(receivers, rule: "cpu_burn", reason: "resolved").first }
        _ = try await waitFor("the resolved email", timeout: .seconds(20)) { receivers.mails.first { $0.contains("RESOLVED") && $0.contains("cpu_burn") } }
        _ = try await waitFor("Alertmanager to see it resolved", timeout: .seconds(20)) { () -> Bool? in
            let active = try await receivers.alertmanagerAlerts().filter {
                ($0["labels"] as? [String: String])?["alertname"] == "cpu_burn" && (($0["status"] as? [String: Any])?["state"] as? String) == "active"
            }
            return active.isEmpty ? true : nil
        }
        try await Task.sleep(for: .seconds(1))
        #expect(Self.notifications(receivers, rule: "cpu_burn", reason: "firing").count == 1)
        #expect(Self.notifications(receivers, rule: "cpu_burn", reason: "resolved").count == 1)
        #expect(receivers.mails.filter { $0.contains("RESOLVED") && $0.contains("cpu_burn") }.count == 1)

        // SIGKILL the agent: host_down reaches the webhook within 3 s of the DOWN event.
        agent.signal(SIGKILL)
        let down = try await waitFor("host_down at the webhook", timeout: .seconds(30)) { () -> [String: Any]? in
            receivers.webhookRequests.first { request in
                ((request["body"] as? [String: Any])?["alerts"] as? [[String: Any]] ?? []).contains { $0["rule"] as? String == "host_down" && $0["hostname"] as? String == host }
            }
        }
        let downAlert = try #require(((down["body"] as? [String: Any])?["alerts"] as? [[String: Any]])?.first { $0["rule"] as? String == "host_down" })
        let downAt = try #require(Self.date(downAlert["starts_at"] as? String))
        let receivedAt = try #require(down["received_at"] as? Double)
        let latency = receivedAt - downAt.timeIntervalSince1970
        print("host_down: DOWN → webhook \(Int(latency * 1000)) ms")
        #expect(latency >= 0 && latency < 3, "DOWN → webhook took \(latency) s")
    }

    @Test("kill -9 of the server between firing and delivery: after the restart every notification reaches the webhook exactly once")
    func serverKilledBetweenFiringAndDelivery() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-e2e-alerting-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let receivers = try await AlertReceivers.start(in: directory, alertmanager: false, smtp: false)
        defer { receivers.stop() }
        try receivers.setWebhookMode("fail")
        let file = directory.appendingPathComponent("alerting.yaml")
        try """
            rules:
              - {name: always, series: cpu.percent, aggregate: last, op: ">=", threshold: 0}
            channels:
              - {name: hook, type: webhook, url: "http://127.0.0.1:\(receivers.webhookPort)/hook", timeout: 2s}
            routes:
              - {channels: [hook], group_wait: 100ms, repeat_interval: 24h}
            """.write(to: file, atomically: true, encoding: .utf8)
        var server = try await ToolServer.start(environment: ["VIGIL_ALERTING_FILE": file.path, "VIGIL_ALERTING_RETRY_INITIAL": "300ms", "VIGIL_ALERTING_RETRY_MAX": "1s"])
        defer { server.stop() }
        let hosts = (0..<3).map { "always-\($0)-\(UUID().uuidString.prefix(4).lowercased())" }
        var agents: [Child] = []
        defer { for agent in agents { agent.stop() } }
        for host in hosts {
            agents.append(try Child(try Binaries.path("vigil-agent"), [
                "--server", server.address, "--ca", server.caFile, "--hostname", host, "--metrics-interval", "1", "--backoff-initial", "0.2",
            ], name: "agent-\(host)", directory: server.directory))
        }
        // Every host's notification is in the outbox and failing (the receiver answers 503).
        _ = try await waitFor("three notifications retrying", timeout: .seconds(60)) { () -> Bool? in
            let log = try await server.api.get("/api/notifications?state=retrying") as? [String: Any]
            return ((log?["notifications"] as? [Any]) ?? []).count >= 3 ? true : nil
        }
        try await server.restart()  // SIGKILL, then the same data and ports
        try receivers.setWebhookMode("ok")
        let delivered = try await waitFor("every host's notification at the webhook", timeout: .seconds(60)) { () -> [[String: Any]]? in
            let firing = Self.notifications(receivers, rule: "always", reason: "firing")
            let notified = Set(firing.flatMap { ($0["alerts"] as? [[String: Any]] ?? []).compactMap { $0["hostname"] as? String } })
            return notified.isSuperset(of: hosts) ? firing : nil
        }
        try await Task.sleep(for: .seconds(3))  // a duplicate or a second notification would arrive now
        let all = Self.notifications(receivers, rule: "always", reason: "firing")
        // Deduplicated by delivery id, each alert (fingerprint) was notified exactly once.
        var byFingerprint: [String: Set<String>] = [:]
        for body in all {
            for alert in (body["alerts"] as? [[String: Any]]) ?? [] {
                byFingerprint[alert["fingerprint"] as? String ?? "?", default: []].insert(body["id"] as? String ?? "?")
            }
        }
        #expect(byFingerprint.count == hosts.count, "\(byFingerprint)")
        #expect(byFingerprint.values.allSatisfy { $0.count == 1 }, "an alert was notified under two ids: \(byFingerprint)")
        _ = delivered
    }

    static func date(_ text: String?) -> Date? {
        guard let text else { return nil }
        return (try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true))) ?? (try? Date(text, strategy: .iso8601))
    }
}
