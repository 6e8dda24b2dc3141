import Foundation

/// aiosmtpd (Support/smtp_server.py) on a free port with STARTTLS (or implicit TLS) and AUTH for
/// one user, writing the messages it accepts to a directory; ``stop()`` kills it and removes it all.
final class SMTPServerProcess: @unchecked Sendable {
    static let user = "vigil"
    static let password = "correct horse"

    /// Whether python3 can import aiosmtpd (checked once, off the test's cooperative threads).
    static let available: Bool = {
        guard let python = executableOnPath("python3") else {
            print("EmailChannelTests skipped: python3 is not on PATH")
            return false
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-c", "import aiosmtpd"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        if process.terminationStatus != 0 { print("EmailChannelTests skipped: python3 cannot import aiosmtpd (pip install aiosmtpd)") }
        return process.terminationStatus == 0
    }()

    static var script: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("smtp_server.py").path
    }

    let directory: URL
    let messages: URL
    let certificates: TestCertificates
    let child: ChildProcess
    let port: Int

    init(implicitTLS: Bool = false, noTLS: Bool = false, excludeMechanisms: [String] = []) async throws {
        self.directory = try temporaryDirectory("vigil-notify-smtp")
        self.messages = self.directory.appendingPathComponent("messages")
        try FileManager.default.createDirectory(at: self.messages, withIntermediateDirectories: true)
        self.certificates = try TestCertificates(in: self.directory)
        let ready = self.directory.appendingPathComponent("ready")
        var arguments = [
            Self.script, "--dir", self.messages.path, "--cert", self.certificates.certificateFile.path,
            "--key", self.certificates.keyFile.path, "--user", Self.user, "--password", Self.password, "--ready-file", ready.path,
        ]
        if implicitTLS { arguments.append("--implicit-tls") }
        if noTLS { arguments.append("--no-tls") }
        for mechanism in excludeMechanisms { arguments += ["--exclude-mechanism", mechanism] }
        self.child = try ChildProcess(executableOnPath("python3") ?? "/usr/bin/python3", arguments, log: self.directory.appendingPathComponent("smtp.log"))
        let child = self.child
        do {
            self.port = try await waitFor("the SMTP server's ready file", timeout: .seconds(30)) { () throws -> Int? in
                guard child.isRunning else { throw TestFailure("smtp_server.py exited: \(child.output)") }
                return (try? String(contentsOf: ready, encoding: .utf8)).flatMap { Int($0) }
            }
        } catch {
            child.stop()
            try? FileManager.default.removeItem(at: self.directory)
            throw error
        }
    }

    /// The messages received, in order: the raw content and the envelope.
    func received() throws -> [(content: String, mailFrom: String, recipients: [String], tls: Bool)] {
        let names = try FileManager.default.contentsOfDirectory(atPath: self.messages.path).filter { $0.hasSuffix(".eml") }
        return try names.sorted { Int($0.dropLast(4)) ?? 0 < Int($1.dropLast(4)) ?? 0 }.map { name in
            let base = self.messages.appendingPathComponent(String(name.dropLast(4)))
            let content = try String(contentsOf: base.appendingPathExtension("eml"), encoding: .utf8)
            let envelope = try JSONSerialization.jsonObject(with: Data(contentsOf: base.appendingPathExtension("json"))) as? [String: Any] ?? [:]
            return (content, envelope["mail_from"] as? String ?? "", envelope["rcpt_tos"] as? [String] ?? [], envelope["tls"] as? Bool ?? false)
        }
    }

    var log: String { self.child.output }

    func stop() {
        self.child.stop()
        try? FileManager.default.removeItem(at: self.directory)
    }
}
