import Foundation
import Testing
import VigilAlerting

@Suite struct RuleValidationTests {
    static func problem(_ rule: AlertRule) -> RuleValidationError? {
        do { try rule.validate(); return nil } catch { return error }
    }

    @Test func unknownSeriesIsRefusedNamingTheField() {
        let error = Self.problem(AlertRule(name: "x", series: "cpu.nonsense", threshold: 1))
        #expect(error?.field == "series")
        #expect(error?.description.contains("unknown series") == true)
    }

    @Test func knownSeriesAliasesAndPatternsAreAccepted() {
        for series in ["cpu.percent", "memory.memory_percent", "disk.partitions[*].percent", "disk.partitions[/srv].percent", "io.network.interfaces[eth0].bytes_recv_per_sec", "load.1", "cpu.cpu_percent_per_core[3]"] {
            #expect(Self.problem(AlertRule(name: "x", series: series, threshold: 1)) == nil, "\(series)")
        }
    }

    @Test func emptyWindowIsRefused() {
        #expect(Self.problem(AlertRule(name: "x", series: "cpu.percent", aggregate: .avg, window: .zero, threshold: 1))?.field == "window")
    }

    @Test func nanThresholdIsRefused() {
        #expect(Self.problem(AlertRule(name: "x", series: "cpu.percent", threshold: .nan))?.field == "threshold")
        #expect(Self.problem(AlertRule(name: "x", series: "cpu.percent", threshold: .infinity))?.field == "threshold")
    }

    @Test func recoveryOnTheWrongSideIsRefused() {
        let above = Self.problem(AlertRule(name: "x", series: "cpu.percent", op: .above, threshold: 90, recovery: 95))
        #expect(above?.field == "recovery")
        #expect(above?.description.contains("wrong side") == true)
        #expect(Self.problem(AlertRule(name: "x", series: "cpu.percent", op: .below, threshold: 10, recovery: 5))?.field == "recovery")
        #expect(Self.problem(AlertRule(name: "x", series: "cpu.percent", op: .below, threshold: 10, recovery: 15)) == nil)
    }

    @Test func hostileNamesAreRefused() {
        #expect(Self.problem(AlertRule(name: "a b", kind: .hostDown))?.field == "name")
        #expect(Self.problem(AlertRule(name: String(repeating: "a", count: 200), kind: .hostDown))?.field == "name")
        #expect(Self.problem(AlertRule(name: "ok", kind: .hostDown, labels: ["bad-label": "x"]))?.field == "labels")
    }

    @Test func duplicateNamesAcrossConfigurationAndAPIAreRefused() {
        #expect(throws: RuleValidationError.self) {
            _ = try RuleSet(configured: [AlertRule(name: "a", kind: .hostDown)], stored: [AlertRule(name: "a", kind: .hostDown)])
        }
    }

    @Test func configuredRuleReplacesTheDefaultOfTheSameName() throws {
        let set = try RuleSet(configured: [AlertRule(name: "cpu_high", series: "cpu.percent", threshold: 50, enabled: false)], stored: [])
        #expect(set.rules.count == AlertRule.defaults.count)
        #expect(set.rule(named: "cpu_high")?.threshold == 50)
        #expect(set.enabled.contains { $0.name == "cpu_high" } == false)
    }

    @Test func rulesDecodeFromTheFileSpelling() throws {
        let json = #"{"name":"cpu","series":"cpu.percent","aggregate":"max","window":"30s","op":">=","threshold":80,"recovery":70,"for":"2m","severity":"critical","hosts":["web-*"],"labels":{"team":"ops"}}"#
        let rule = try JSONDecoder().decode(AlertRule.self, from: Data(json.utf8))
        #expect(rule.aggregate == .max && rule.window == .seconds(30) && rule.op == .aboveOrEqual && rule.duration == .minutes(2))
        #expect(rule.scope.contains("web-3") && !rule.scope.contains("db-1"))
        let again = try JSONDecoder().decode(AlertRule.self, from: try JSONEncoder().encode(rule))
        #expect(again == rule)
    }

    @Test func durationsParseAndRefuseNonsense() {
        #expect(AlertDuration(parsing: "1h30m") == .minutes(90))
        #expect(AlertDuration(parsing: "250ms")?.milliseconds == 250)
        #expect(AlertDuration(parsing: "90")?.milliseconds == 90_000)
        #expect(AlertDuration(parsing: "-5s") == nil)
        #expect(AlertDuration(parsing: "5 parsecs") == nil)
        #expect(AlertDuration(parsing: "99999999999999999999s") == nil)
        #expect(AlertDuration(seconds: 1e300) == nil)
        #expect(AlertDuration.minutes(90).description == "1h30m")
    }

    @Test func silenceWithEndBeforeStartIsRefused() throws {
        let now = Date()
        let silence = Silence(id: "s", matchers: [try LabelMatcher(parsing: "host=web-1")], startsAt: now, endsAt: now.addingTimeInterval(-60), createdBy: "ann", comment: "", createdAt: now)
        #expect(throws: RuleValidationError.self) { try silence.validate() }
        let empty = Silence(id: "s", matchers: [], startsAt: now, endsAt: now.addingTimeInterval(60), createdBy: "ann", comment: "", createdAt: now)
        #expect(throws: RuleValidationError.self) { try empty.validate() }
    }

    @Test func matchersAndGlobs() throws {
        let labels = ["host": "web-12", "severity": "critical"]
        #expect(try LabelMatcher(parsing: "host=web-12").matches(labels))
        #expect(try LabelMatcher(parsing: "host=~web-[0-9]+").matches(labels))
        #expect(try !LabelMatcher(parsing: "severity!=critical").matches(labels))
        #expect(try LabelMatcher(parsing: "team!~ops").matches(labels))
        #expect(throws: RuleValidationError.self) { _ = try LabelMatcher(parsing: "host=~(") }
        #expect(Glob("web-*").matches("web-1") && !Glob("web-*").matches("db-1") && Glob("*-?").matches("a-b"))
        // Linear even for a pattern that backtracks badly in naive matchers.
        #expect(!Glob(String(repeating: "*a", count: 50) + "b").matches(String(repeating: "a", count: 5000)))
    }

    @Test func routesNameExistingChannels() throws {
        #expect(throws: RuleValidationError.self) { _ = try RoutingTable(routes: [NotificationRoute(channels: ["nope"])], channels: ["hook"]) }
        let table = try RoutingTable(routes: [
            NotificationRoute(matchers: [try LabelMatcher(parsing: "severity=critical")], channels: ["pager"], continue: true),
            NotificationRoute(channels: ["chat"]),
        ], channels: ["pager", "chat"])
        #expect(table.routes(for: ["severity": "critical"]).flatMap(\.channels) == ["pager", "chat"])
        #expect(table.routes(for: ["severity": "warning"]).flatMap(\.channels) == ["chat"])
        #expect(try RoutingTable(routes: [], channels: ["b", "a"]).routes.first?.channels == ["a", "b"])
    }
}
