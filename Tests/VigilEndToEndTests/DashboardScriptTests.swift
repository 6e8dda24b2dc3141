import Foundation
import Testing

/// The dashboard's pure JavaScript (chart ticks and scales, formatting, rates from counters),
/// tested with node by dashboard_js_tests.mjs. Skipped, with a reason, where node is not installed.
@Suite("Dashboard JavaScript")
struct DashboardScriptTests {
    static let node: String? = {
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let path = "\(directory)/node"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }()

    @Test("chart ticks, scales and formatting (node)", .enabled(if: DashboardScriptTests.node != nil, "SKIPPED: node is not installed, the dashboard's JavaScript tests did not run"))
    func pureFunctions() throws {
        let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        let script = here.appendingPathComponent("dashboard_js_tests.mjs").path
        let assets = here.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Sources/VigilDashboard/Assets").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(Self.node))
        process.arguments = [script, assets]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "node \(script):\n\(text)")
        #expect(text.contains(" passed, 0 failed"), "\(text)")
    }
}
