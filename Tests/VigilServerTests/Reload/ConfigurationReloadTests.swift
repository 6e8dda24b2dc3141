import Foundation
import Logging
import Testing
import VigilMetrics
@testable import VigilServer

/// The whole configuration reloaded into a running in-process server (`ConfigurationReloader`):
/// hot keys take effect, invalid files change nothing, restart-only keys wait.
@Suite("Configuration reload", .serialized)
struct ConfigurationReloadTests {
    static func sample(_ server: TestServer, at date: Date, clock: ContinuousClock.Instant = .now) throws(IngestRefusal) {
        try server.server.metrics.ingest(MetricsIngestTests.document(at: date), hostname: "web-01", now: clock)
    }

    @Test("a valid reload changes a hot key (metrics.rate_limit) and the new limit takes effect at once")
    func hotKeyTakesEffect() async throws {
        let fixture = try ReloadFixture()
        try fixture.write("metrics:\n  rate_limit: 0.001\n  rate_burst: 1\n")
        try await fixture.withServer { server in
            let now = Date()
            try Self.sample(server, at: now.addingTimeInterval(-10))
            #expect(throws: IngestRefusal.self) { try Self.sample(server, at: now.addingTimeInterval(-9)) }

            try fixture.write("metrics:\n  rate_limit: 1000\n  rate_burst: 1000\n")
            let outcome = await server.server.reloader.reload(trigger: .direct)
            #expect(outcome.success, "\(outcome.error ?? "")")
            #expect(outcome.changed == ["metrics.rate_limit", "metrics.rate_burst"])
            #expect(outcome.restartRequired.isEmpty)
            #expect(server.server.liveSettings.current.metricsRateLimit == 1000)
            // The same host, the same bucket: refused before the reload, taken after it (a second
            // later refills 1000 tokens at the new rate, where the old one gave a thousandth).
            let later = ContinuousClock.now + .seconds(1)
            try Self.sample(server, at: now.addingTimeInterval(-8), clock: later)
            try Self.sample(server, at: now.addingTimeInterval(-7), clock: later)
            #expect(server.logs.contains("configuration reloaded"))
            #expect(await server.server.reloader.history.first?.changed == ["metrics.rate_limit", "metrics.rate_burst"])
        }
    }

    @Test("hot HTTP limits: a smaller metrics.max_body_size refuses the next POST /api/metrics (413)")
    func httpLimitIsHot() async throws {
        let fixture = try ReloadFixture()
        try fixture.write("metrics:\n  max_body_size: 100000\n")
        try await fixture.withServer { server in
            let key = try await server.key(for: "web-01")
            let body = try MetricsIngestTests.json(MetricsIngestTests.document())
            #expect(body.count > 400)
            let headers = ["X-API-Key": key, "Content-Type": "application/json"]
            #expect(try await server.http("POST", "/api/metrics", headers: headers, body: body, as: .anonymous).status == 200)
            try fixture.write("metrics:\n  max_body_size: 300\n")
            #expect(await server.server.reloader.reload(trigger: .direct).changed == ["metrics.max_body_size"])
            let refused = try await server.http("POST", "/api/metrics", headers: headers, body: body, as: .anonymous)
            #expect(refused.status == 413)
            #expect((refused.json as? [String: Any])?["detail"] as? String == "body of \(body.count) bytes is over the limit of 300 bytes (metrics.max_body_size)")
        }
    }

    @Test("a reload of log.level changes the level every live-level logger follows")
    func logLevelIsHot() async throws {
        let fixture = try ReloadFixture()
        try fixture.write("log:\n  level: info\n")
        let level = LiveLogLevel(.info)
        let capture = LogCapture()
        let logger = Logger(label: "reload-test") { _ in LiveLevelLogHandler(wrapping: LogCapture.CapturingHandler(capture: capture), level: level) }
        try await fixture.withServer(logLevel: level) { server in
            logger.debug("before the reload")
            #expect(!capture.contains("before the reload"))
            try fixture.write("log:\n  level: debug\n")
            let outcome = await server.server.reloader.reload(trigger: .direct)
            #expect(outcome.changed == ["log.level"], "\(outcome)")
            #expect(level.level == .debug)
            logger.debug("after the reload")
            #expect(capture.contains("after the reload"))
        }
    }

    @Test("a reload with a YAML syntax error changes nothing, returns and logs the error, and the server keeps serving")
    func yamlSyntaxError() async throws {
        let fixture = try ReloadFixture()
        try fixture.write("metrics:\n  rate_limit: 5\n")
        try await fixture.withServer { server in
            let before = server.server.liveSettings.current
            try fixture.write("metrics:\n  rate_limit: [7\n  rate_burst: 3\n")
            let outcome = await server.server.reloader.reload(trigger: .direct)
            #expect(!outcome.success)
            let error = try #require(outcome.error)
            #expect(error.contains("is not valid YAML"), "\(error)")
            #expect(error.contains(fixture.file.path))
            #expect(server.server.liveSettings.current == before)
            #expect(server.server.liveSettings.current.metricsRateLimit == 5)
            #expect(server.logs.contains("configuration reload failed"))
            #expect(await server.server.reloader.history.first?.success == false)
            #expect(try await server.http("GET", "/api/health", as: .anonymous).status == 200)

            // A value out of range and a failed cross-check: the same, with the key named.
            try fixture.write("metrics:\n  rate_limit: 0\n")
            let outOfRange = await server.server.reloader.reload(trigger: .direct)
            #expect(!outOfRange.success)
            #expect(outOfRange.error?.contains(#"metrics.rate_limit: expected a number in 0.001...10000.0, got "0""#) == true, "\(outOfRange.error ?? "")")
            try fixture.write("liveness:\n  phi_suspect: 9\n")
            let crossed = await server.server.reloader.reload(trigger: .direct)
            #expect(crossed.error?.contains("liveness.phi_suspect (9.0) must be below liveness.phi_down") == true, "\(crossed.error ?? "")")
            #expect(server.server.liveSettings.current == before)
        }
    }

    @Test("a key the server's flags set is not the file's to change: a reload leaves it, and reports nothing")
    func flagsStillWin() async throws {
        let fixture = try ReloadFixture()
        try fixture.write("heartbeat:\n  interval: 1s\n")
        try await fixture.withServer { server in
            // The fixture's flags set heartbeat.interval (1s) and agents.port (0), above the file.
            try fixture.write("heartbeat:\n  interval: 5s\nagents:\n  port: 6001\n")
            let outcome = await server.server.reloader.reload(trigger: .direct)
            #expect(outcome.success)
            #expect(outcome.changed.isEmpty)
            #expect(outcome.restartRequired.isEmpty)
            #expect(server.server.liveSettings.current.heartbeatInterval == .seconds(1))
        }
    }

    @Test("a reload that changes a restart-only key reports it and ignores it until restart")
    func restartOnlyKey() async throws {
        let fixture = try ReloadFixture()
        try fixture.write("agents:\n  max_connections: 1000\n")
        try await fixture.withServer { server in
            try fixture.write("agents:\n  max_connections: 5\nmessages:\n  rate_limit: 50\n")
            let outcome = await server.server.reloader.reload(trigger: .direct)
            #expect(outcome.success)
            #expect(outcome.changed == ["messages.rate_limit"])
            #expect(outcome.restartRequired == ["agents.max_connections"])
            #expect(server.server.liveSettings.current.maxConnections == 1000)
            #expect(server.server.liveSettings.current.messageRateLimit == 50)
            #expect(server.server.messages.rateLimiter.limits.rate == 50)
            #expect(server.logs.contains("agents.max_connections changes at the next restart"))
            // Still pending at the next reload, though nothing changed since the last one.
            let again = await server.server.reloader.reload(trigger: .direct)
            #expect(again.changed.isEmpty)
            #expect(again.restartRequired == ["agents.max_connections"])
        }
    }

    @Test("a participant that refuses in its check fails the whole reload: no participant applies, no setting changes")
    func participantRefusal() async throws {
        let fixture = try ReloadFixture()
        try fixture.write("metrics:\n  rate_limit: 5\n")
        try await fixture.withServer { server in
            let applied = Counter()
            await server.server.reloader.register(ClosureReloadParticipant(name: "first") { _ in applied.increment() })
            await server.server.reloader.register(ClosureReloadParticipant(name: "alerting", check: { _ in
                throw ConfigurationError(description: "rules.yaml: line 3: unknown series cpu.nope")
            }, apply: { _ in applied.increment() }))
            try fixture.write("metrics:\n  rate_limit: 7\n")
            let outcome = await server.server.reloader.reload(trigger: .direct)
            #expect(!outcome.success)
            #expect(outcome.error == "alerting: rules.yaml: line 3: unknown series cpu.nope")
            #expect(applied.value == 0)
            #expect(server.server.liveSettings.current.metricsRateLimit == 5)
        }
    }

    @Test("a server built without a configuration source answers every reload with an error")
    func noSource() async throws {
        try await TestServer.with { server in
            let outcome = await server.server.reloader.reload(trigger: .direct)
            #expect(!outcome.success)
            #expect(outcome.error?.contains("not started from a configuration") == true)
        }
    }
}
