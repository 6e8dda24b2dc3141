import Foundation
import Testing

/// docs/openapi.yaml against the real server: every route is called (successes and errors), each
/// exchange is recorded, and `openapi_validate.py` checks every response against the document,
/// that the document is valid OpenAPI, and that the document and the server's routes agree both
/// ways (so neither can drift from the other).
@Suite("OpenAPI document vs the real server", .serialized)
struct OpenAPIValidationTests {
    @Test(
        "every response of every route validates against docs/openapi.yaml; every documented route and status is exercised",
        .enabled(
            if: OpenAPITooling.missing == nil || OpenAPITooling.isCI,
            "needs python3 with openapi-core and openapi-spec-validator (\(OpenAPITooling.installCommand)); under CI this fails instead"
        )
    )
    func responsesMatchTheDocument() async throws {
        if let missing = OpenAPITooling.missing {
            Issue.record("CI is set but the OpenAPI validator cannot run: \(missing). Install: \(OpenAPITooling.installCommand) (.ci/run does)")
            return
        }
        var fleet = try await Fleet.start(plaintextFromLoopback: true)  // the Python file sender speaks plaintext
        defer { fleet.stop() }
        let log = ExchangeLog(directory: fleet.directory)
        let main = fleet.api.port
        // Every route but the open ones is called as the first admin unless a test says otherwise.
        log.bearer[main] = try await fleet.api.accessToken()

        // A real agent sampling every second; wait for two samples (rates need a previous one).
        let agent = try fleet.agent("alpha", key: try fleet.key(for: "alpha"), extraArguments: ["--metrics-interval", "1"])
        _ = try await waitFor("two samples of alpha in history, rates in /current", timeout: .seconds(30)) { () -> Bool? in
            let history = try await fleet.api.get("/api/servers/alpha/history?metric=cpu.percent") as? [String: Any]
            let current = try await fleet.api.get("/api/servers/alpha/current") as? [String: Any]
            let cpu = (current?["metrics"] as? [String: Any])?["cpu"] as? [String: Any]
            return (history?["points"] as? [Any] ?? []).count >= 2 && cpu?["cpu_percent_total"] != nil ? true : nil
        }
        _ = agent

        // POST /api/metrics from a script, for a second host: every section, an unknown field,
        // Unix-seconds timestamp; then without a timestamp; then with nulls and an ISO timestamp.
        let key = try fleet.key(for: "scripted")
        let now = Date().timeIntervalSince1970
        let full = Self.fullDocument(timestamp: String(format: "%.3f", now - 20))
        try log.post(port: main, key: key, body: full, expect: 200, "every section, Unix seconds, unknown field")
        try log.post(port: main, key: key, body: #"{"cpu": {"cpu_percent_total": 12.5, "cpu_count_logical": 4}}"#, expect: 200, "no timestamp")
        try log.post(port: main, key: key, body: #"{"timestamp": null, "hostname": null, "system": null, "memory": {"memory_total": 8000, "memory_available": 6000, "memory_used": 2000, "memory_free": 5000, "memory_percent": 25.0, "swap_total": 0, "swap_used": 0, "swap_free": 0, "swap_percent": 0}}"#, expect: 200, "nulls")
        try log.post(port: main, key: key, body: Self.fullDocument(timestamp: "\"\(Date().addingTimeInterval(1).formatted(.iso8601))\""), expect: 200, "ISO timestamp, whole seconds")
        try log.post(port: main, key: key, body: full, expect: 200, "resend: back-fill, stored once")
        try log.post(port: main, key: nil, body: full, expect: 401, error: "key_required", "no key")
        try log.post(port: main, key: "not-a-key", body: full, expect: 401, error: "invalid_key", "malformed key")
        try log.post(port: main, key: "vk_aaaaaaaaaaaa_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", body: full, expect: 401, error: "invalid_key", "unknown key")
        try log.post(port: main, key: key, body: "", expect: 400, error: "invalid_body", "empty body")
        try log.post(port: main, key: key, body: #"{"cpu": "#, expect: 400, error: "invalid_json", "truncated JSON")
        try log.post(port: main, key: key, body: #"{"cpu": {"cpu_percent_total": "high", "cpu_count_logical": 4}}"#, expect: 400, error: "invalid_field", "wrong type")
        try log.post(port: main, key: key, body: #"{"cpu": {}}"#, expect: 400, error: "missing_field", "missing field")
        try log.post(port: main, key: key, body: #"{"timestamp": \#(Int(now) + 86_400)}"#, expect: 400, error: "invalid_field", "a day ahead")
        try log.post(port: main, key: key, body: "{\"comment\": \"" + String(repeating: "x", count: 2 << 20) + "\"}", expect: 413, error: "body_too_large", "2 MiB")

        // A second server that refuses cheaply: one sample per 100 s, one series per sample. Its
        // agent registers but every sample is refused (too many series), so the host is known
        // without samples; its HTTP host gets one sample, then 429.
        let strict = fleet.directory.appendingPathComponent("strict")
        try FileManager.default.createDirectory(at: strict, withIntermediateDirectories: true)
        // Its configuration file is what POST /api/admin/reload reads again (below).
        let strictConfig = strict.appendingPathComponent("server.yaml")
        try "log:\n  level: info\n".write(to: strictConfig, atomically: true, encoding: .utf8)
        let (strictServer, strictPorts) = try await Self.startServer(fleet.vigil, directory: strict, environment: [
            "VIGIL_METRICS_RATE_BURST": "1", "VIGIL_METRICS_RATE_LIMIT": "0.01", "VIGIL_METRICS_MAX_SERIES": "1",
            "VIGIL_CONFIG": strictConfig.path,
        ])
        defer { strictServer.stop() }
        let strictData = strict.appendingPathComponent("data").path
        func strictKey(_ host: String) throws -> String {
            let (status, output) = try run(fleet.vigil, ["keys", "create", "--key-only", "--host", host, "--data-dir", strictData])
            guard status == 0 else { throw E2EError("vigil keys create exited \(status)") }
            return output.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let quiet = try Child(fleet.agentBinary, [
            "--server", "127.0.0.1:\(strictPorts.agent)", "--key", try strictKey("quiet"), "--hostname", "quiet",
            "--backoff-initial", "0.2", "--metrics-interval", "1",
        ], name: "agent-quiet", directory: strict)
        defer { quiet.stop() }
        let strictAPI = API(port: strictPorts.http)
        log.bearer[strictPorts.http] = try await strictAPI.accessToken()
        _ = try await waitFor("quiet HEALTHY on the strict server", timeout: .seconds(15)) { try await strictAPI.state(of: "quiet") == "HEALTHY" ? true : nil }
        let limitedKey = try strictKey("limited")
        let strictPort = strictPorts.http
        try log.post(port: strictPort, key: limitedKey, body: #"{"cpu": {"cpu_count_logical": 2}}"#, expect: 200, "one series")
        try log.post(port: strictPort, key: limitedKey, body: #"{"cpu": {"cpu_count_logical": 2}}"#, expect: 429, error: "rate_limited", "over the rate")
        try log.post(port: strictPort, key: limitedKey, body: #"{"cpu": {"cpu_count_logical": 2, "cpu_percent_total": 1}}"#, expect: 400, error: "invalid_field", "over metrics.max_series")
        // One refusal is the POST above; the others are quiet's samples.
        _ = try await waitFor("a refused sample of quiet", timeout: .seconds(10)) { () -> Bool? in
            let health = try await strictAPI.get("/api/health") as? [String: Any]
            let refused = (health?["metrics"] as? [String: Any])?["refused"] as? [String: Int]
            return (refused?["invalid_field"] ?? 0) >= 2 ? true : nil
        }

        // Reloading the strict server's configuration: valid (a hot and a restart-only change), then a YAML syntax error.
        try "log:\n  level: debug\nagents:\n  max_connections: 50\n".write(to: strictConfig, atomically: true, encoding: .utf8)
        _ = try log.call("POST", port: strictPort, template: "/api/admin/reload", path: "/api/admin/reload", headers: [:], body: nil,
                     expect: 200, error: nil, note: "log.level changed, agents.max_connections at restart", sourceLocation: #_sourceLocation)
        try "log:\n  level: [debug\n".write(to: strictConfig, atomically: true, encoding: .utf8)
        _ = try log.call("POST", port: strictPort, template: "/api/admin/reload", path: "/api/admin/reload", headers: [:], body: nil,
                     expect: 422, error: "invalid_configuration", note: "YAML syntax error", sourceLocation: #_sourceLocation)
        try log.get(strictPort, "/api/admin/reloads", "/api/admin/reloads", expect: 200)

        // Server and liveness.
        for port in [main, strictPort] {
            try log.get(port, "/api/health", "/api/health", expect: 200)
            try log.get(port, "/api/storage", "/api/storage", expect: 200)
            try log.get(port, "/api/cluster", "/api/cluster", expect: 200)
            try log.get(port, "/api/agents", "/api/agents", expect: 200)
            try log.get(port, "/api/servers", "/api/servers", expect: 200)
            try log.get(port, "/api/events", "/api/events", expect: 200)
            try log.get(port, "/metrics", "/metrics", expect: 200)
            try log.get(port, "/metrics/fleet", "/metrics/fleet", expect: 200)
        }
        try log.get(main, "/api/agents/{hostname}", "/api/agents/alpha", expect: 200)
        try log.get(strictPort, "/api/agents/{hostname}", "/api/agents/quiet", expect: 200)
        try log.get(main, "/api/agents/{hostname}", "/api/agents/scripted", expect: 404, error: "not_found", "HTTP-only host")
        try log.get(main, "/api/agents/{hostname}", "/api/agents/nosuch", expect: 404, error: "not_found")
        let page = try log.get(main, "/api/events", "/api/events?limit=1", expect: 200) as? [[String: Any]] ?? []
        let smallest = try #require(page.compactMap { $0["id"] as? Int }.min(), "no liveness event yet")
        try log.get(main, "/api/events", "/api/events?hostname=alpha&limit=10&before=\(smallest + 1)", expect: 200)
        try log.get(main, "/api/events", "/api/events?limit=0", expect: 400, error: "invalid_parameter")
        try log.get(main, "/api/events", "/api/events?before=abc", expect: 400, error: "invalid_parameter")

        // One host's latest sample: an agent, a script, a host without samples, no host.
        for section in ["current", "disk", "network", "processes"] {
            let template = "/api/servers/{hostname}/\(section)"
            try log.get(main, template, "/api/servers/alpha/\(section)", expect: 200)
            try log.get(main, template, "/api/servers/scripted/\(section)", expect: 200)
            try log.get(strictPort, template, "/api/servers/limited/\(section)", expect: 200, "a sample with only cpu")
            try log.get(strictPort, template, "/api/servers/quiet/\(section)", expect: 404, error: "no_samples")
            try log.get(main, template, "/api/servers/nosuch/\(section)", expect: 404, error: "not_found")
        }

        // Series names, history and stats.
        let metricsTemplate = "/api/servers/{hostname}/metrics"
        let list = try log.get(main, metricsTemplate, "/api/servers/alpha/metrics", expect: 200) as? [String: Any]
        try log.get(strictPort, metricsTemplate, "/api/servers/quiet/metrics", expect: 200, "no series")
        try log.get(main, metricsTemplate, "/api/servers/nosuch/metrics", expect: 404, error: "not_found")
        let series = list?["series"] as? [String] ?? []
        let history = "/api/servers/{hostname}/history"
        let iso = Date().addingTimeInterval(-600).formatted(.iso8601)
        try log.get(main, history, "/api/servers/alpha/history?metric=cpu.percent", expect: 200, "alias")
        try log.get(main, history, "/api/servers/alpha/history?metric=memory.memory_percent&from=\(q(iso))&to=\(Int(Date().timeIntervalSince1970) + 60)", expect: 200, "ISO from, Unix to")
        try log.get(main, history, "/api/servers/alpha/history?metric=load.1&step=2s", expect: 200, "step")
        try log.get(main, history, "/api/servers/alpha/history?metric=memory.percent&resolution=1m", expect: 200)
        try log.get(main, history, "/api/servers/alpha/history?metric=memory.percent&resolution=1h&from=\(Int(now) - 86_400 * 3)", expect: 200)
        for name in [series.first { $0.hasPrefix("disk.partitions[") }, series.first { $0.hasPrefix("io.network.interfaces[") }].compactMap({ $0 }) {
            try log.get(main, history, "/api/servers/alpha/history?metric=\(q(name))", expect: 200, "bracketed name")
        }
        try log.get(main, history, "/api/servers/scripted/history?metric=\(q("disk.partitions[/data].percent"))", expect: 200)
        try log.get(main, history, "/api/servers/alpha/history", expect: 400, error: "missing_parameter")
        try log.get(main, history, "/api/servers/alpha/history?metric=cpu.percent&from=yesterday", expect: 400, error: "invalid_parameter")
        try log.get(main, history, "/api/servers/alpha/history?metric=cpu.percent&from=2000&to=1000", expect: 400, error: "invalid_parameter", "from after to")
        try log.get(main, history, "/api/servers/alpha/history?metric=cpu.percent&step=often", expect: 400, error: "invalid_parameter")
        try log.get(main, history, "/api/servers/alpha/history?metric=cpu.percent&resolution=5m", expect: 400, error: "invalid_parameter")
        try log.get(main, history, "/api/servers/alpha/history?metric=no.such.series", expect: 404, error: "unknown_metric")
        try log.get(main, history, "/api/servers/nosuch/history?metric=cpu.percent", expect: 404, error: "not_found")
        let stats = "/api/servers/{hostname}/stats"
        try log.get(main, stats, "/api/servers/alpha/stats", expect: 200, "default series")
        try log.get(main, stats, "/api/servers/alpha/stats?metric=cpu.percent&metric=memory.memory_used&metric=no.such&from=\(Int(now) - 3600)&to=\(q(Date().addingTimeInterval(60).formatted(.iso8601)))", expect: 200)
        try log.get(strictPort, stats, "/api/servers/quiet/stats", expect: 200, "no samples: nulls")
        try log.get(main, stats, "/api/servers/alpha/stats?to=tomorrow", expect: 400, error: "invalid_parameter")
        try log.get(main, stats, "/api/servers/alpha/stats?" + (0...100).map { "metric=m\($0)" }.joined(separator: "&"), expect: 400, error: "invalid_parameter", "101 metrics")
        try log.get(main, stats, "/api/servers/nosuch/stats", expect: 404, error: "not_found")
        let events = "/api/servers/{hostname}/events"
        try log.get(main, events, "/api/servers/alpha/events", expect: 200)
        try log.get(main, events, "/api/servers/alpha/events?limit=1&before=\(Int32.max)", expect: 200)
        try log.get(main, events, "/api/servers/alpha/events?limit=10001", expect: 400, error: "invalid_parameter")
        try log.get(main, events, "/api/servers/nosuch/events", expect: 404, error: "not_found")

        // Files: one sent over the agent port (FILE_OFFER, a data frame), then listed and downloaded.
        let fileID = try Self.sendFile(port: fleet.agentPort, key: try fleet.key(for: "files-e2e"), host: "files-e2e", name: "report.txt", content: "sent for the OpenAPI test\n")
        try log.get(main, "/api/files", "/api/files", expect: 200)
        try log.get(main, "/api/files", "/api/files?sender=files-e2e&limit=1&before=ffffffff-ffff-7fff-bfff-ffffffffffff", expect: 200)
        try log.get(main, "/api/files", "/api/files?limit=0", expect: 400, error: "invalid_parameter")
        try log.get(main, "/api/files", "/api/files?before=zzz", expect: 400, error: "invalid_parameter")
        try log.get(main, "/api/files/{id}", "/api/files/\(fileID)", expect: 200)
        try log.get(main, "/api/files/{id}", "/api/files/\(UUID().uuidString.lowercased())", expect: 404, error: "not_found")
        func push(_ id: String, _ body: String, expect status: Int, error code: String? = nil, _ note: String = "") throws {
            _ = try log.call("POST", port: main, template: "/api/files/{id}/push", path: "/api/files/\(id)/push", headers: ["Content-Type": "application/json"],
                         body: Data(body.utf8), expect: status, error: code, note: note, sourceLocation: #_sourceLocation)
        }
        try push(fileID, #"{"to": "alpha"}"#, expect: 202, "to a connected agent")
        try push(fileID, #"{"to": "files-e2e"}"#, expect: 409, error: "recipient_offline", "the sender has left")
        try push(fileID, #"{"to": "nosuch"}"#, expect: 404, error: "unknown_recipient")
        try push(UUID().uuidString.lowercased(), #"{"to": "alpha"}"#, expect: 404, error: "not_found")
        try push(fileID, "{}", expect: 400, error: "missing_field")
        try push(fileID, #"{"to": ""# + String(repeating: "x", count: 5000) + #""}"#, expect: 413, error: "body_too_large")

        // Messages: the server sends (to a host, to everyone), then lists; every refusal.
        func postMessage(_ body: String, expect status: Int, error code: String? = nil, _ note: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
            _ = try log.call("POST", port: main, template: "/api/messages", path: "/api/messages", headers: ["Content-Type": "application/json"], body: Data(body.utf8), expect: status, error: code, note: note, sourceLocation: sourceLocation)
        }
        try postMessage(#"{"recipient": "alpha", "content": "reboot at 22:00"}"#, expect: 201, "private, to a host")
        try postMessage(#"{"recipient": null, "content": "maintenance tonight ✓", "comment": "ignored"}"#, expect: 201, "broadcast, unknown field")
        try postMessage(#"{"content": "no recipient: everyone"}"#, expect: 201, "recipient absent")
        try postMessage("", expect: 400, error: "invalid_body", "empty body")
        try postMessage(#"{"recipient": "alpha""#, expect: 400, error: "invalid_json", "truncated JSON")
        try postMessage(#"{"recipient": "alpha"}"#, expect: 400, error: "missing_field", "no content")
        try postMessage(#"{"content": 5}"#, expect: 400, error: "invalid_field", "content not a string")
        try postMessage(#"{"recipient": "alpha", "content": ""}"#, expect: 400, error: "invalid_message", "empty content")
        try postMessage(#"{"recipient": "nosuch", "content": "anyone?"}"#, expect: 404, error: "unknown_recipient", "never registered")
        try postMessage("{\"content\": \"" + String(repeating: "x", count: 70_000) + "\"}", expect: 413, error: "invalid_message", "over messages.max_content_bytes")
        try postMessage("{\"content\": \"" + String(repeating: "x", count: 500_000) + "\"}", expect: 413, error: "body_too_large", "over the body limit")
        let messages = "/api/messages"
        let all = try log.get(main, messages, "/api/messages", expect: 200) as? [String: Any]
        #expect((all?["messages"] as? [Any])?.count == 3)
        try log.get(main, messages, "/api/messages?client=alpha&limit=1", expect: 200, "a full page: next_before set")
        try log.get(main, messages, "/api/messages?client=alpha&peer=server&before=\(Int32.max)", expect: 200, "alpha and the server")
        try log.get(main, messages, "/api/messages?limit=1001", expect: 400, error: "invalid_parameter")
        try log.get(main, messages, "/api/messages?peer=alpha", expect: 400, error: "invalid_parameter", "peer without client")
        try log.get(main, messages, "/api/messages?client=nosuch", expect: 404, error: "not_found")

        try await Self.exerciseAlerts(log, port: main, fleet: fleet)
        try await Self.exerciseAuth(log, port: main, fleet: fleet, fileID: fileID)

        // The dashboard's files (public; 304 revalidation is DashboardRoutesTests' job).
        _ = try log.call("GET", port: main, template: "/", path: "/", headers: [:], body: nil, expect: 200, error: nil, note: "the page", anonymous: true, sourceLocation: #_sourceLocation)
        for asset in ["app.js", "app.css", "favicon.svg"] {
            _ = try log.call("GET", port: main, template: "/assets/{name}", path: "/assets/\(asset)", headers: [:], body: nil, expect: 200, error: nil, note: asset, anonymous: true, sourceLocation: #_sourceLocation)
        }
        _ = try log.call("GET", port: main, template: "/assets/{name}", path: "/assets/nosuch.js", headers: [:], body: nil, expect: 404, error: "not_found", note: "unknown file", anonymous: true, sourceLocation: #_sourceLocation)

        // The document checks.
        let exchanges = try log.write()
        let (status, output) = try await runCapturing("/usr/bin/env", [
            "python3", OpenAPITooling.script.path, OpenAPITooling.document.path, exchanges.path,
            "--sources", OpenAPITooling.root.appendingPathComponent("Sources/VigilServer").path,
        ], timeout: .seconds(300))
        if status == 0 {
            print(output)
        } else {
            // The fleet's directory is removed at the end; keep the exchanges for a look.
            let kept = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-openapi-exchanges-\(UUID().uuidString.prefix(8)).json")
            try? FileManager.default.copyItem(at: exchanges, to: kept)
            Issue.record("docs/openapi.yaml and the server disagree (openapi_validate.py exited \(status); exchanges kept in \(kept.path)):\n\(output)")
        }
    }

    /// Users, sessions, keys, and the 401/403 answers of every route that needs a user.
    static func exerciseAuth(_ log: ExchangeLog, port main: Int, fleet: Fleet, fileID: String) async throws {
        @discardableResult
        func call(_ method: String, _ template: String, _ path: String? = nil, _ body: String? = nil, as token: String? = nil, anonymous: Bool = false,
                  expect status: Int, error code: String? = nil, _ note: String = "", sourceLocation: SourceLocation = #_sourceLocation) throws -> Any? {
            try log.call(method, port: main, template: template, path: path ?? template, headers: body == nil ? [:] : ["Content-Type": "application/json"],
                         body: body.map { Data($0.utf8) }, expect: status, error: code, note: note, token: token, anonymous: anonymous, sourceLocation: sourceLocation)
        }
        func login(_ name: String, _ password: String) throws -> [String: Any] {
            try call("POST", "/api/auth/login", nil, #"{"username": "\#(name)", "password": "\#(password)"}"#, anonymous: true, expect: 200) as? [String: Any] ?? [:]
        }

        // Sign-in and refresh.
        _ = try login(E2EAuth.adminName, E2EAuth.adminPassword)
        try call("POST", "/api/auth/login", nil, "{}", anonymous: true, expect: 400, error: "missing_field")
        try call("POST", "/api/auth/login", nil, #"{"username": "nobody", "password": "wrong-password"}"#, anonymous: true, expect: 401, error: "invalid_credentials")
        try call("POST", "/api/auth/login", nil, #"{"username": "x", "password": ""# + String(repeating: "x", count: 20_000) + #""}"#, anonymous: true, expect: 413, error: "body_too_large")
        for _ in 0..<5 {
            try call("POST", "/api/auth/login", nil, #"{"username": "locked-out", "password": "wrong-password"}"#, anonymous: true, expect: 401, error: "invalid_credentials", "failures up to auth.login_failures_per_user")
        }
        try call("POST", "/api/auth/login", nil, #"{"username": "locked-out", "password": "wrong-password"}"#, anonymous: true, expect: 429, error: "too_many_attempts")

        // Users.
        try call("POST", "/api/users", nil, #"{"name": "ada", "password": "ada-password-1", "role": "viewer"}"#, expect: 201)
        try call("POST", "/api/users", nil, #"{"name": "vera", "password": "vera-password-1", "role": "viewer"}"#, expect: 201)
        try call("POST", "/api/users", nil, #"{"name": "temp", "password": "temp-password-1", "role": "operator"}"#, expect: 201)
        try call("POST", "/api/users", nil, #"{"name": "ada", "password": "ada-password-1", "role": "viewer"}"#, expect: 409, error: "user_exists")
        try call("POST", "/api/users", nil, #"{"name": "bob", "password": "short", "role": "viewer"}"#, expect: 400, error: "weak_password")
        let ada = try login("ada", "ada-password-1")
        let adaToken = ada["access_token"] as? String ?? ""
        let vera = try login("vera", "vera-password-1")["access_token"] as? String ?? ""
        try call("POST", "/api/auth/refresh", nil, #"{"refresh_token": "\#(ada["refresh_token"] as? String ?? "")"}"#, anonymous: true, expect: 200)
        try call("POST", "/api/auth/refresh", nil, "{}", anonymous: true, expect: 400, error: "missing_field")
        try call("POST", "/api/auth/refresh", nil, #"{"refresh_token": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}"#, anonymous: true, expect: 401, error: "invalid_token")
        try call("GET", "/api/users", expect: 200)
        try call("GET", "/api/auth/me", as: adaToken, expect: 200)
        let user = "/api/users/{name}"
        try call("PATCH", user, "/api/users/ada", #"{"role": "operator"}"#, expect: 200)
        try call("PATCH", user, "/api/users/ada", "{}", expect: 400, error: "invalid_body")
        try call("PATCH", user, "/api/users/nobody", #"{"role": "operator"}"#, expect: 404, error: "not_found")
        try call("PATCH", user, "/api/users/admin", #"{"role": "viewer"}"#, expect: 409, error: "last_admin")
        try call("DELETE", user, "/api/users/temp", expect: 204)
        try call("DELETE", user, "/api/users/nobody", expect: 404, error: "not_found")
        try call("DELETE", user, "/api/users/admin", expect: 409, error: "last_admin")
        try call("POST", "/api/auth/password", nil, #"{"current_password": "wrong-password", "new_password": "ada-password-2"}"#, as: adaToken, expect: 403, error: "wrong_password")
        try call("POST", "/api/auth/password", nil, #"{"current_password": "ada-password-1", "new_password": "short"}"#, as: adaToken, expect: 400, error: "weak_password")
        try call("POST", "/api/auth/password", nil, #"{"current_password": "ada-password-1", "new_password": "ada-password-2"}"#, as: adaToken, expect: 204)

        // Keys.
        let issued = try call("POST", "/api/keys", nil, #"{"hostname": "keyed-host"}"#, expect: 201) as? [String: Any]
        try call("POST", "/api/keys", nil, #"{"hostname": "not a host name"}"#, expect: 400, error: "invalid_field")
        try call("GET", "/api/keys", expect: 200)
        try call("DELETE", "/api/keys/{id}", "/api/keys/\(issued?["id"] as? String ?? "x")", expect: 204)
        try call("DELETE", "/api/keys/{id}", "/api/keys/nosuchkey123", expect: 404, error: "not_found")

        // Every route that needs a user: 401 without a token; 403 for a role too low.
        let viewerRoutes: [(String, String, String, String?)] = [
            ("GET", "/api/storage", "/api/storage", nil), ("GET", "/api/cluster", "/api/cluster", nil), ("GET", "/api/agents", "/api/agents", nil),
            ("GET", "/api/agents/{hostname}", "/api/agents/alpha", nil), ("GET", "/api/events", "/api/events", nil),
            ("GET", "/api/servers", "/api/servers", nil), ("GET", "/api/messages", "/api/messages", nil),
            ("GET", "/api/files", "/api/files", nil), ("GET", "/api/files/{id}", "/api/files/\(fileID)", nil),
            ("GET", "/api/auth/me", "/api/auth/me", nil), ("POST", "/api/auth/logout", "/api/auth/logout", nil),
            ("GET", "/metrics", "/metrics", nil), ("GET", "/metrics/fleet", "/metrics/fleet", nil),
            ("POST", "/api/auth/password", "/api/auth/password", #"{"current_password": "a", "new_password": "b"}"#),
            ("GET", "/api/alerts", "/api/alerts", nil), ("GET", "/api/alerts/history", "/api/alerts/history", nil),
            ("GET", "/api/alerts/evaluation", "/api/alerts/evaluation", nil), ("GET", "/api/alerts/{id}", "/api/alerts/1", nil),
            ("GET", "/api/silences", "/api/silences", nil), ("GET", "/api/silences/{id}", "/api/silences/x", nil),
            ("GET", "/api/rules", "/api/rules", nil), ("GET", "/api/rules/{name}", "/api/rules/x", nil),
            ("GET", "/api/channels", "/api/channels", nil), ("GET", "/api/notifications", "/api/notifications", nil),
        ] + ["current", "disk", "network", "processes", "metrics", "history", "stats", "events"].map {
            ("GET", "/api/servers/{hostname}/\($0)", "/api/servers/alpha/\($0)", nil)
        }
        let operatorRoutes: [(String, String, String, String?)] = [
            ("POST", "/api/messages", "/api/messages", #"{"content": "hello"}"#),
            ("POST", "/api/files/{id}/push", "/api/files/\(fileID)/push", #"{"to": "alpha"}"#),
            ("POST", "/api/alerts/{id}/ack", "/api/alerts/1/ack", "{}"),
            ("POST", "/api/silences", "/api/silences", #"{"matchers": ["host=a"], "duration": "1h"}"#),
            ("DELETE", "/api/silences/{id}", "/api/silences/x", nil),
        ]
        let adminRoutes: [(String, String, String, String?)] = [
            ("GET", "/api/users", "/api/users", nil), ("POST", "/api/users", "/api/users", #"{"name": "eve", "password": "eve-password-1", "role": "admin"}"#),
            ("PATCH", "/api/users/{name}", "/api/users/vera", #"{"role": "admin"}"#), ("DELETE", "/api/users/{name}", "/api/users/admin", nil),
            ("GET", "/api/keys", "/api/keys", nil), ("POST", "/api/keys", "/api/keys", #"{"hostname": "eve"}"#),
            ("DELETE", "/api/keys/{id}", "/api/keys/nosuchkey123", nil),
            ("POST", "/api/rules", "/api/rules", #"{"name": "x", "kind": "host_down"}"#),
            ("PUT", "/api/rules/{name}", "/api/rules/x", #"{"name": "x", "kind": "host_down"}"#),
            ("DELETE", "/api/rules/{name}", "/api/rules/x", nil),
            ("POST", "/api/admin/reload", "/api/admin/reload", nil), ("GET", "/api/admin/reloads", "/api/admin/reloads", nil),
        ]
        for (method, template, path, body) in viewerRoutes + operatorRoutes + adminRoutes {
            try call(method, template, path, body, anonymous: true, expect: 401, error: "unauthorized", "no token")
        }
        for (method, template, path, body) in operatorRoutes + adminRoutes {
            try call(method, template, path, body, as: vera, expect: 403, error: "forbidden", "a viewer")
        }
        try call("POST", "/api/auth/logout", as: vera, expect: 204)
        try call("GET", "/api/agents", as: vera, expect: 401, error: "unauthorized", "signed out")
    }

    /// A document with every section, as a script could send it (`timestamp` is JSON text).
    static func fullDocument(timestamp: String) -> String {
        let counters = #""bytes_sent": 1000, "bytes_recv": 2000, "packets_sent": 10, "packets_recv": 20, "errin": 0, "errout": 0, "dropin": 1, "dropout": 0"#
        let disk = #""read_count": 5, "write_count": 6, "read_bytes": 4096, "write_bytes": 8192, "read_time": 3, "write_time": 4"#
        return """
            {"hostname": "ignored", "timestamp": \(timestamp), "comment": "unknown fields are ignored",
             "cpu": {"cpu_percent_total": 42.5, "cpu_percent_per_core": [40, 45], "cpu_count_logical": 2, "cpu_count_physical": 1,
                     "cpu_freq_current": 2400.5, "load_average": [0.5, 0.4, 0.3]},
             "memory": {"memory_total": 8000, "memory_available": 6000, "memory_used": 2000, "memory_free": 5000,
                        "memory_percent": 25.0, "swap_total": 0, "swap_used": 0, "swap_free": 0, "swap_percent": 0},
             "disk": {"partitions": [{"device": "/dev/vdz1", "mountpoint": "/data", "fstype": "ext4", "total": 1000000, "used": 250000, "free": 700000, "percent": 26.32}]},
             "io": {"network": {\(counters), "bytes_sent_per_sec": 10.5, "bytes_recv_per_sec": 20, "extra": true,
                                "interfaces": {"eth9": {\(counters), "packets_recv_per_sec": null}}},
                    "disk_io": {\(disk), "read_bytes_per_sec": 100, "devices": {"vdz": {\(disk)}}}},
             "system": {"os": "Test OS 1", "kernel": "6.1.0", "architecture": "x86_64", "hostname": "box", "boot_time": 1700000000, "uptime": 12345.5},
             "processes": {"total": 99, "top_cpu": [{"pid": 1, "name": "init", "user": "root", "cpu_percent": 0.5, "rss": 4096}],
                           "top_memory": [{"pid": 2, "name": "db", "user": "postgres", "rss": 1048576}]}}
            """
    }

    /// Sends one small file over the agent port as any client would (register, FILE_OFFER, one
    /// 0x01 data frame) with a few lines of python3 (present wherever this test runs); returns the file id.
    static func sendFile(port: Int, key: String, host: String, name: String, content: String) throws -> String {
        let script = #"""
            import hashlib, json, socket, struct, sys, uuid
            port, key, host, name, content = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5].encode()
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            def send(payload): s.sendall(struct.pack(">I", len(payload)) + payload)
            def envelope(kind, payload): send(json.dumps({"type": kind, "payload": payload, "message_id": str(uuid.uuid4())}).encode())
            def receive():
                while True:
                    (n,) = struct.unpack(">I", s.recv(4, socket.MSG_WAITALL))
                    data = s.recv(n, socket.MSG_WAITALL)
                    frame = json.loads(data)
                    if frame["type"] != "HEARTBEAT_ACK": return frame
            envelope("CLIENT_REGISTER", {"protocol_version": 1, "hostname": host, "key": key})
            assert receive()["payload"]["success"]
            transfer = uuid.uuid4()
            envelope("FILE_OFFER", {"transfer_id": str(transfer), "filename": name, "size": len(content), "sha256": hashlib.sha256(content).hexdigest()})
            ready = receive()
            assert ready["type"] == "FILE_READY", ready
            send(b"\x01" + transfer.bytes + struct.pack(">Q", 0) + content)
            saved = receive()
            assert saved["type"] == "FILE_SAVED", saved
            print(saved["payload"]["file_id"])
            """#
        let (status, output) = try runCapturingSync("/usr/bin/env", ["python3", "-c", script, "\(port)", key, host, name, content])
        guard status == 0 else { throw E2EError("sending a file over the agent port failed (\(status)): \(output)") }
        return output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `vigil server` as `Fleet.startServer` starts it, with extra environment (configuration).
    static func startServer(_ vigil: String, directory: URL, environment: [String: String]) async throws -> (Child, (agent: Int, http: Int)) {
        let ready = directory.appendingPathComponent("ready.json")
        let server = try Child(vigil, [
            "server", "--data-dir", directory.appendingPathComponent("data").path,
            "--agent-port", "0", "--http-port", "0", "--heartbeat-interval", "1s", "--ready-file", ready.path,
        ], name: "server-strict", directory: directory, environment: environment)
        let ports = try await waitFor("the strict server's ready file") { () -> (agent: Int, http: Int)? in
            let json = try JSONSerialization.jsonObject(with: Data(contentsOf: ready)) as? [String: Int]
            guard let agent = json?["agent_port"], let http = json?["http_port"] else { return nil }
            return (agent, http)
        }
        return (server, ports)
    }
}

/// Where the validator and the document are, and whether python3 can run it.
enum OpenAPITooling {
    /// The repository root, from this file's path: works from any working directory.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let document = root.appendingPathComponent("docs/openapi.yaml")
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("openapi_validate.py")
    static let installCommand = "pip install openapi-core==0.23.1 openapi-spec-validator==0.8.5 PyYAML==6.0.3"
    static var isCI: Bool { !(ProcessInfo.processInfo.environment["CI"] ?? "").isEmpty }

    /// `nil` when python3 and the modules are there; otherwise what is missing.
    static let missing: String? = {
        let check = "import importlib.util as u, sys; m = [n for n in ('openapi_core', 'openapi_spec_validator', 'yaml') if u.find_spec(n) is None]; print(' '.join(m)); sys.exit(1 if m else 0)"
        guard let (status, output) = try? runCapturingSync("/usr/bin/env", ["python3", "-c", check]) else { return "python3 could not be started" }
        if status == 0 { return nil }
        let modules = output.trimmingCharacters(in: .whitespacesAndNewlines)
        return status == 127 || modules.isEmpty ? "python3 is not on PATH (\(output.prefix(200)))" : "python3 lacks the modules \(modules)"
    }()
}

/// The HTTP exchanges of a test, made with curl (as a script would) and written as JSON for
/// openapi_validate.py.
final class ExchangeLog {
    struct Exchange: Encodable {
        var method: String
        var template: String
        var url: String
        var status: Int
        var contentType: String
        var headers: [String: String]
        var body: String
        var requestHeaders: [String: String]
        var requestBody: String?
        var note: String

        enum CodingKeys: String, CodingKey {
            case method, template, url, status, headers, body, note
            case contentType = "content_type"
            case requestHeaders = "request_headers"
            case requestBody = "request_body"
        }
    }

    let directory: URL
    private(set) var exchanges: [Exchange] = []
    /// The access token sent to each port (by the server's HTTP port) unless a call says otherwise.
    var bearer: [Int: String] = [:]
    /// Routes that take no user token.
    static let openTemplates: Set<String> = ["/api/health", "/api/metrics", "/api/auth/login", "/api/auth/refresh"]

    init(directory: URL) { self.directory = directory }

    /// `GET`s `path` (already percent-encoded), records it, and checks the status (and error code).
    @discardableResult
    func get(_ port: Int, _ template: String, _ path: String, expect status: Int, error code: String? = nil, _ note: String = "", sourceLocation: SourceLocation = #_sourceLocation) throws -> Any? {
        try self.call("GET", port: port, template: template, path: path, headers: [:], body: nil, expect: status, error: code, note: note, sourceLocation: sourceLocation)
    }

    /// `POST /api/metrics` with the key (if any) and the body.
    @discardableResult
    func post(port: Int, key: String?, body: String, expect status: Int, error code: String? = nil, _ note: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> Any? {
        var headers = ["Content-Type": "application/json"]
        if let key { headers["X-API-Key"] = key }
        return try self.call("POST", port: port, template: "/api/metrics", path: "/api/metrics", headers: headers, body: Data(body.utf8), expect: status, error: code, note: note, sourceLocation: sourceLocation)
    }

    func call(_ method: String, port: Int, template: String, path: String, headers: [String: String], body: Data?, expect expected: Int, error code: String?, note: String,
              token: String? = nil, anonymous: Bool = false, sourceLocation: SourceLocation) throws -> Any? {
        var headers = headers
        if !anonymous, !Self.openTemplates.contains(template), let token = token ?? self.bearer[port] {
            headers["Authorization"] = "Bearer \(token)"
        }
        let id = UUID().uuidString.prefix(8)
        let bodyFile = self.directory.appendingPathComponent("response-\(id).body")
        let headerFile = self.directory.appendingPathComponent("response-\(id).headers")
        let requestFile = self.directory.appendingPathComponent("request-\(id).body")
        defer { [bodyFile, headerFile, requestFile].forEach { try? FileManager.default.removeItem(at: $0) } }
        let url = "http://127.0.0.1:\(port)\(path)"
        var arguments = ["-sS", "--max-time", "30", "-X", method, "-D", headerFile.path, "-o", bodyFile.path, "-w", "%{http_code}\n%{content_type}"]
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) { arguments += ["-H", "\(name): \(value)"] }
        if let body {
            try body.write(to: requestFile)
            arguments += ["-H", "Expect:", "--data-binary", "@\(requestFile.path)"]
        }
        arguments.append(url)
        let (curlStatus, output) = try runCapturingSync("/usr/bin/env", ["curl"] + arguments)
        let lines = output.split(separator: "\n", omittingEmptySubsequences: false)
        // curl may report an error after the answer (a server that closes early on 413): the code counts.
        guard let first = lines.first, let status = Int(first), status != 0 else {
            throw E2EError("curl \(method) \(url) exited \(curlStatus): \(output)")
        }
        let contentType = lines.count > 1 ? String(lines[1]) : ""
        let responseBody = (try? String(contentsOf: bodyFile, encoding: .utf8)) ?? ""
        let json = try? JSONSerialization.jsonObject(with: Data(responseBody.utf8))
        #expect(status == expected, "\(method) \(path) (\(note)): \(responseBody.prefix(300))", sourceLocation: sourceLocation)
        if let code {
            #expect((json as? [String: Any])?["error"] as? String == code, "\(method) \(path) (\(note)): \(responseBody.prefix(300))", sourceLocation: sourceLocation)
        }
        self.exchanges.append(Exchange(
            method: method, template: template, url: url, status: status, contentType: contentType,
            headers: Self.lastHeaderBlock((try? String(contentsOf: headerFile, encoding: .utf8)) ?? ""),
            body: responseBody, requestHeaders: headers,
            requestBody: body.flatMap { $0.count <= 65_536 ? String(decoding: $0, as: UTF8.self) : nil }, note: note
        ))
        return json
    }

    /// The final response's headers (after any `100 Continue`), names lower-cased.
    static func lastHeaderBlock(_ text: String) -> [String: String] {
        let blocks = text.replacingOccurrences(of: "\r\n", with: "\n").components(separatedBy: "\n\n").filter { !$0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }
        var headers: [String: String] = [:]
        for line in (blocks.last ?? "").split(separator: "\n").dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return headers
    }

    /// Writes `exchanges.json` into the directory and returns its URL.
    func write() throws -> URL {
        let file = self.directory.appendingPathComponent("exchanges.json")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(["exchanges": self.exchanges]).write(to: file)
        return file
    }
}

/// Percent-encodes a query value.
private func q(_ value: String) -> String {
    value.addingPercentEncoding(withAllowedCharacters: CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")) ?? value
}


/// As `runCapturingSync`, but killed (and reported) after `timeout`.
private func runCapturing(_ executable: String, _ arguments: [String], timeout: Duration) async throws -> (Int32, String) {
    let log = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-openapi-\(UUID().uuidString).log")
    _ = FileManager.default.createFile(atPath: log.path, contents: nil)
    defer { try? FileManager.default.removeItem(at: log) }
    let handle = try FileHandle(forWritingTo: log)
    defer { try? handle.close() }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.standardOutput = handle
    process.standardError = handle
    try process.run()
    let deadline = ContinuousClock.now + timeout
    while process.isRunning {
        if ContinuousClock.now > deadline {
            process.terminate()
            process.waitUntilExit()
            return (-1, "timed out after \(timeout): \(executable) \(arguments.joined(separator: " "))\n" + ((try? String(contentsOf: log, encoding: .utf8)) ?? ""))
        }
        try await Task.sleep(for: .milliseconds(50))
    }
    return (process.terminationStatus, (try? String(contentsOf: log, encoding: .utf8)) ?? "")
}
