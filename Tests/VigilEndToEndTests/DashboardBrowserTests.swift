import Foundation
import Testing

/// The dashboard in real headless Chromium: the real `vigil server`, a real `vigil-agent`, and
/// scripts/dashboard_browser.py driving the browser through chromedriver (selenium).
///
/// Screenshots of every page are kept in `.build/test-output/dashboard/` (or `$VIGIL_TEST_OUTPUT/dashboard/`).
@Suite("Dashboard in a real browser", .serialized)
struct DashboardBrowserTests {
    @Test("sign in, live fleet and charts, chat to the agent, a killed agent DOWN on screen within 3 s, a viewer without send")
    func walkThrough() async throws {
        guard let browser = try BrowserTools.find() else { return }
        let server = try await ToolServer.start()  // its first admin is E2EAuth's
        defer { server.stop() }

        // A viewer, made by the admin over the API.
        let viewerPassword = "viewer-pass-\(UUID().uuidString.prefix(8))"
        let body = try JSONSerialization.data(withJSONObject: ["name": "vera", "password": viewerPassword, "role": "viewer"])
        let (created, createdStatus) = try await server.api.request("POST", "/api/users", body: body)
        #expect(createdStatus == 201, "creating the viewer: \(String(decoding: created, as: UTF8.self))")

        // An agent sampling every second (the server's heartbeat is 1 s too).
        let host = "dash-\(UUID().uuidString.prefix(6).lowercased())"
        let agent = try Child(try Binaries.path("vigil-agent"), [
            "--server", server.address, "--ca", server.caFile, "--hostname", host, "--metrics-interval", "1", "--log-level", "info",
        ], name: "agent-\(host)", directory: server.directory)
        defer { agent.stop() }
        _ = try await waitFor("\(host) to register", timeout: .seconds(30)) { agent.output.contains("registered") ? true : nil }

        let screenshots = BrowserTools.outputDirectory.appendingPathComponent("dashboard")
        try? FileManager.default.removeItem(at: screenshots)
        let message = "dashboard says hello \(UUID().uuidString.prefix(6))"
        let driver = try Child(browser.python, [
            browser.script, "check",
            // HTTPS, with Chromium trusting the server's own CA (by its public key's hash) and nothing else.
            "--url", "https://localhost:\(server.httpPort)",
            "--admin", E2EAuth.adminName, "--viewer", "vera",
            "--host", host, "--agent-pid", "\(agent.pid)", "--agent-log", agent.log.path,
            "--message", message, "--screenshots", screenshots.path,
        ], name: "browser", directory: server.directory, environment: [
            "VIGIL_ADMIN_PASSWORD": E2EAuth.adminPassword, "VIGIL_VIEWER_PASSWORD": viewerPassword,
            "VIGIL_TRUSTED_SPKI": try spkiHash(ofCertificateIn: server.caFile),
        ])
        defer { driver.stop() }
        let status = try await driver.waitForExit(timeout: .seconds(240))
        let output = driver.output
        print(output)
        #expect(status == 0, "the browser walk-through failed:\n\(output)\n--- server log tail:\n\(server.server.output.suffix(3000))")

        // Each step the script reports, with its screenshot on disk.
        let steps = output.split(separator: "\n").compactMap { line -> [String: Any]? in
            guard line.hasPrefix("{") else { return nil }
            return try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        }
        let names = steps.compactMap { $0["step"] as? String }
        for step in ["login-page", "fleet", "host", "host-history", "chat-sent", "chat-received", "files", "down", "alerts", "phone", "phone-host", "viewer"] {
            #expect(names.contains(step), "step \(step) missing from \(names)")
        }
        for path in steps.compactMap({ $0["screenshot"] as? String }) {
            let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
            #expect(size > 1000, "screenshot \(path) is missing or empty")
        }
        if let down = steps.first(where: { $0["step"] as? String == "down" }), let seconds = down["seconds"] as? Double {
            #expect(seconds <= 3, "DOWN on screen after \(seconds) s")
        }
        #expect(agent.output.contains(message), "the agent's log lacks the message")
    }
}

/// Python with selenium, chromium and chromedriver; `nil` (and a loud line) when absent, unless
/// running in CI, where their absence is a failure (.ci/run installs them).
struct BrowserTools {
    let python: String
    let script: String

    static var outputDirectory: URL {
        if let output = ProcessInfo.processInfo.environment["VIGIL_TEST_OUTPUT"] { return URL(fileURLWithPath: output) }
        return packageRoot.appendingPathComponent(".build/test-output")
    }

    static var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    static func find() throws -> BrowserTools? {
        let script = packageRoot.appendingPathComponent("scripts/dashboard_browser.py").path
        // The python3 on PATH: the one .ci/run's `python3 -m pip install selenium` installed into.
        let python = which("python3")
        var missing: [String] = []
        if which("chromium") == nil && which("chromium-browser") == nil && which("google-chrome") == nil { missing.append("chromium") }
        if which("chromedriver") == nil && !FileManager.default.isExecutableFile(atPath: "/usr/lib/chromium/chromedriver") { missing.append("chromedriver") }
        if let python {
            let (status, _) = try run(python, ["-c", "import selenium"])
            if status != 0 { missing.append("selenium (pip)") }
        } else {
            missing.append("python3")
        }
        guard missing.isEmpty, let python else {
            let why = "SKIPPED dashboard browser test: \(missing.joined(separator: ", ")) not installed (.ci/run installs them)"
            if ProcessInfo.processInfo.environment["CI"] != nil { throw E2EError(why + " — required in CI") }
            print("⚠️ " + why)
            return nil
        }
        return BrowserTools(python: python, script: script)
    }

    private static func which(_ name: String) -> String? {
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let path = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }
}
