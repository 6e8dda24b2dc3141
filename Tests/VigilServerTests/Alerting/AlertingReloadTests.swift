import Foundation
import Testing
@testable import VigilServer

/// The alerting file is part of a reload: read again, checked, put in force atomically; a bad one changes nothing.
@Suite("Alerting reload", .serialized)
struct AlertingReloadTests {
    @Test("a reload puts an edited alerting file in force; a YAML error or an invalid rule refuses the whole reload and keeps the rules")
    func alertingFileIsReloaded() async throws {
        let fixture = try ReloadFixture()
        let rules = fixture.directory.appendingPathComponent("alerting.yaml")
        try "rules:\n  - {name: cpu_hot, series: cpu.percent, threshold: 90}\n".write(to: rules, atomically: true, encoding: .utf8)
        try fixture.write("alerting:\n  file: \(rules.path)\n  default_rules: false\nmetrics:\n  rate_limit: 5\n")
        try await fixture.withServer { server in
            #expect(await server.server.alerts.rules.rules.map(\.name) == ["cpu_hot"])
            try "rules:\n  - {name: cpu_hot, series: cpu.percent, threshold: 95}\n  - {name: quiet, kind: no_data, for: 2m}\n".write(to: rules, atomically: true, encoding: .utf8)
            let outcome = await server.server.reloader.reload(trigger: .direct)
            #expect(outcome.success, "\(outcome.error ?? "")")
            #expect(await server.server.alerts.rules.rules.map(\.name) == ["cpu_hot", "quiet"])
            #expect(await server.server.alerts.rules.rule(named: "cpu_hot")?.threshold == 95)

            // A YAML syntax error in the alerting file: nothing changes, not even the server's other keys.
            try "rules: [ {name: broken".write(to: rules, atomically: true, encoding: .utf8)
            try fixture.write("alerting:\n  file: \(rules.path)\n  default_rules: false\nmetrics:\n  rate_limit: 7\n")
            let refused = await server.server.reloader.reload(trigger: .direct)
            #expect(!refused.success)
            #expect(refused.error?.contains("not valid YAML") == true, "\(refused.error ?? "")")
            #expect(server.server.liveSettings.current.metricsRateLimit == 5)
            #expect(await server.server.alerts.rules.rules.map(\.name) == ["cpu_hot", "quiet"])

            // A rule on the wrong side of its recovery threshold: refused, named.
            try "rules:\n  - {name: cpu_hot, series: cpu.percent, threshold: 90, recovery: 99}\n".write(to: rules, atomically: true, encoding: .utf8)
            let invalid = await server.server.reloader.reload(trigger: .direct)
            #expect(!invalid.success)
            #expect(invalid.error?.contains("recovery") == true, "\(invalid.error ?? "")")
            #expect(await server.server.alerts.rules.rule(named: "cpu_hot")?.threshold == 95)
        }
    }
}
