import Foundation
import Testing
import VigilMetrics
@testable import VigilCollectors

@Suite("System collector")
struct SystemCollectorTests {
    static func collect(_ scenario: String) throws -> MetricsDocument.System? {
        var collector = SystemCollector(root: Fixtures.root(scenario), machine: "x86_64")
        var document = MetricsDocument(timestamp: Date())
        try collector.collect(into: &document, elapsed: nil)
        return document.system
    }

    @Test("os-release, kernel, hostname, btime and uptime from their files")
    func fixture() throws {
        let system = try Self.collect("system")
        #expect(system == MetricsDocument.System(
            os: "Debian GNU/Linux 12 (bookworm)",
            kernel: "6.18.44-fc-v657",
            architecture: "x86_64",
            hostname: "web-01",
            bootTime: 1_795_306_287,
            uptime: 5505.16
        ))
    }

    @Test("without etc/os-release it reads usr/lib/os-release, with shell quoting undone")
    func usrLib() throws {
        let system = try Self.collect("system-usr-lib")
        #expect(system?.os == #"Example OS 1.0 "Quoted" $5 \ back"#)
    }

    @Test("no PRETTY_NAME anywhere: Linux, as os-release(5) defaults it")
    func noPrettyName() throws {
        #expect(try Self.collect("system-no-os-release")?.os == "Linux")
    }

    @Test("os-release values: unquoted, single-quoted, double-quoted with escapes, comments skipped")
    func osReleaseValues() {
        let text = """
        # PRETTY_NAME="commented out"
        PRETTY_NAMES=no
        A=plain
        B='single \\ quoted'
        C="double \\"q\\" \\\\"
        """
        #expect(SystemCollector.osReleaseValue("PRETTY_NAME", in: text) == nil)
        #expect(SystemCollector.osReleaseValue("A", in: text) == "plain")
        #expect(SystemCollector.osReleaseValue("B", in: text) == #"single \ quoted"#)
        #expect(SystemCollector.osReleaseValue("C", in: text) == #"double "q" \"#)
    }

    @Test("a missing kernel file is a collector error, and the section is left out")
    func missing() {
        var collector = SystemCollector(root: SystemRoot("/nonexistent"), machine: "x86_64")
        var document = MetricsDocument(timestamp: Date())
        #expect(throws: CollectorError.self) { try collector.collect(into: &document, elapsed: nil) }
        #expect(document.system == nil)
    }

    @Test("live: uname's machine and release, a boot time in the past")
    func live() throws {
        var collector = SystemCollector()
        var document = MetricsDocument(timestamp: Date())
        try collector.collect(into: &document, elapsed: nil)
        let system = try #require(document.system)
        var names = utsname()
        #expect(uname(&names) == 0)
        let release = withUnsafeBytes(of: names.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let machine = withUnsafeBytes(of: names.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        #expect(system.kernel == release)
        #expect(system.architecture == machine)
        #expect(!system.architecture.isEmpty && !(system.hostname ?? "").isEmpty && !system.os.isEmpty)
        #expect(system.bootTime > 0 && system.bootTime < Date().timeIntervalSince1970)
        #expect(system.uptime > 0)
    }
}
