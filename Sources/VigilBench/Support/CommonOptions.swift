import ArgumentParser
import Foundation

/// The options every scenario takes: which `vigil` to run and how to report.
struct CommonOptions: ParsableArguments {
    @Option(help: "The vigil executable (default: `vigil` next to this executable).")
    var vigil: String?

    @Flag(help: "Print the figures as JSON.")
    var json = false

    @Flag(help: "No progress lines on standard error.")
    var quiet = false

    @Flag(help: "Agent-port scenarios (connections, ingest, files, messages, detect): the server requires TLS (VIGIL_TLS_ENABLED, VIGIL_AGENTS_PLAINTEXT=never) and the clients pin the CA it writes.")
    var tls = false

    /// The `vigil` executable to start.
    var executable: String { self.vigil ?? ServerProcess.defaultExecutable() }

    /// Writes timestamped progress lines to standard error (nothing with `--quiet`).
    func progressPrinter() -> @Sendable (String) -> Void {
        let started = Stopwatch()
        let quiet = self.quiet
        return { message in
            guard !quiet else { return }
            FileHandle.standardError.write(Data((String(format: "[%7.1f s] ", started.seconds) + message + "\n").utf8))
        }
    }

    /// Prints the report as a table, or as JSON with `--json`.
    func print<Report: Encodable>(_ report: Report, table: (Report) -> String) throws {
        Swift.print(self.json ? try ReportPrinter.json(report) : table(report))
    }
}
