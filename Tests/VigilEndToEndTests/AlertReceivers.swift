import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The real receivers the alerting end-to-end tests deliver to: a webhook receiver (Python,
/// webhook_receiver.py), the real `alertmanager` (Debian's prometheus-alertmanager) and a real SMTP
/// server (aiosmtpd, writing each message into a maildir). Each on a free port on loopback.
struct AlertReceivers {
    let directory: URL
    let webhook: Child
    let webhookPort: Int
    let alertmanager: Child?
    let alertmanagerPort: Int
    let smtp: Child?
    let smtpPort: Int

    static var alertmanagerBinary: String? {
        ["/usr/bin/prometheus-alertmanager", "/usr/bin/alertmanager", "/usr/local/bin/alertmanager"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static var hasAiosmtpd: Bool {
        (try? run("/usr/bin/env", ["python3", "-c", "import aiosmtpd"]).0) == 0
    }

    static func start(in directory: URL, alertmanager: Bool = true, smtp: Bool = true) async throws -> AlertReceivers {
        let hooks = directory.appendingPathComponent("webhook")
        try FileManager.default.createDirectory(at: hooks, withIntermediateDirectories: true)
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("webhook_receiver.py").path
        let webhook = try Child("/usr/bin/env", ["python3", script, hooks.path], name: "webhook", directory: directory)
        let webhookPort = try await waitFor("the webhook receiver's port", timeout: .seconds(20)) { () -> Int? in
            (try? String(contentsOf: hooks.appendingPathComponent("port"), encoding: .utf8)).flatMap { Int($0) }
        }
        var manager: Child?
        var managerPort = 0
        if alertmanager, let binary = Self.alertmanagerBinary {
            managerPort = try freePort()
            let data = directory.appendingPathComponent("alertmanager")
            try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
            let config = data.appendingPathComponent("alertmanager.yml")
            try "route:\n  receiver: 'null'\n  group_wait: 0s\nreceivers:\n  - name: 'null'\n".write(to: config, atomically: true, encoding: .utf8)
            manager = try Child(binary, [
                "--config.file=\(config.path)", "--storage.path=\(data.path)", "--web.listen-address=127.0.0.1:\(managerPort)",
                "--cluster.listen-address=",
            ], name: "alertmanager", directory: directory)
            _ = try await waitFor("alertmanager to be ready", timeout: .seconds(30)) { () -> Bool? in
                let (_, status) = try await Self.http("GET", "http://127.0.0.1:\(managerPort)/-/ready")
                return status == 200 ? true : nil
            }
        }
        var mail: Child?
        var mailPort = 0
        if smtp, Self.hasAiosmtpd {
            mailPort = try freePort()
            let maildir = directory.appendingPathComponent("maildir")
            mail = try Child("/usr/bin/env", ["python3", "-m", "aiosmtpd", "-n", "-l", "127.0.0.1:\(mailPort)", "-c", "aiosmtpd.handlers.Mailbox", maildir.path],
                             name: "smtp", directory: directory)
            _ = try await waitFor("the SMTP server to listen", timeout: .seconds(20)) { () -> Bool? in canConnect(port: mailPort) ? true : nil }
        }
        return AlertReceivers(directory: directory, webhook: webhook, webhookPort: webhookPort, alertmanager: manager, alertmanagerPort: managerPort, smtp: mail, smtpPort: mailPort)
    }

    func stop() {
        self.webhook.stop()
        self.alertmanager?.stop()
        self.smtp?.stop()
    }

    /// Sets the webhook receiver's answer: `ok`, `fail` (503) or `hang`.
    func setWebhookMode(_ mode: String) throws {
        try mode.write(to: self.directory.appendingPathComponent("webhook/mode"), atomically: true, encoding: .utf8)
    }

    /// Every request the webhook receiver accepted, in order.
    var webhookRequests: [[String: Any]] {
        let text = (try? String(contentsOf: self.directory.appendingPathComponent("webhook/requests.jsonl"), encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    /// Every message the SMTP server stored (the maildir's new/ and cur/), as text.
    var mails: [String] {
        let maildir = self.directory.appendingPathComponent("maildir")
        return ["new", "cur"].flatMap { folder -> [String] in
            let path = maildir.appendingPathComponent(folder)
            let names = (try? FileManager.default.contentsOfDirectory(atPath: path.path)) ?? []
            return names.sorted().compactMap { try? String(contentsOf: path.appendingPathComponent($0), encoding: .utf8) }
        }
    }

    /// Alertmanager's alerts (`GET /api/v2/alerts`).
    func alertmanagerAlerts() async throws -> [[String: Any]] {
        let (data, status) = try await Self.http("GET", "http://127.0.0.1:\(self.alertmanagerPort)/api/v2/alerts")
        guard status == 200 else { throw E2EError("alertmanager answered \(status)") }
        return (try JSONSerialization.jsonObject(with: data) as? [[String: Any]]) ?? []
    }

    static func http(_ method: String, _ url: String) async throws -> (Data, Int) {
        var request = URLRequest(url: URL(string: url)!)
        request.httpMethod = method
        request.timeoutInterval = 5
        do {
            let (data, response) = try await URLSession.shared.data(for: request)
            return (data, (response as? HTTPURLResponse)?.statusCode ?? 0)
        } catch {
            return (Data(), 0)
        }
    }
}

/// A port the kernel says is free now (bound and released; the receiver binds it a moment later).
func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw E2EError("socket() failed") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    guard bound == 0 else { throw E2EError("bind() failed") }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let named = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
    guard named == 0 else { throw E2EError("getsockname() failed") }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Whether something accepts TCP connections on 127.0.0.1:port.
func canConnect(port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = UInt16(port).bigEndian
    return withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } } == 0
}
