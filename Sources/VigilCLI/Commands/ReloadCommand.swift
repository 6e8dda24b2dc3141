import ArgumentParser
import Foundation
import VigilServer
import VigilStore

/// `vigil reload`: the running server of a data directory reloads its configuration (SIGHUP), and
/// this prints what it did, read from the status file the server writes after each reload.
struct ReloadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reload",
        abstract: "Tell the running server to reload its configuration file, and print the outcome.",
        discussion: """
        Finds the server running on the data directory, sends it SIGHUP and waits for its answer: the \
        keys that changed at once, and those that change only at the next restart. An invalid \
        configuration changes nothing; the error is printed.

        Exit codes: 0 reloaded; 1 not reloaded (invalid configuration, no server running, no answer \
        in time); 64 bad usage.
        """
    )

    @OptionGroup var options: ServerOptions

    @Option(help: "How long to wait for the server's answer, e.g. 30s.")
    var timeout = "30s"

    @Flag(help: "Print every configuration key with `hot` (a reload applies it at once) or `restart`, and exit.")
    var listKeys = false

    func run() async throws {
        if self.listKeys {
            // The keys the loader reads, in its order; no configuration source is consulted.
            for key in try await ServerSettings.loadConfiguration(environment: [:]).keys {
                print("\(key) \(ReloadPolicy.hotKeys.contains(key) ? "hot" : "restart")")
            }
            return
        }
        guard let timeout = Duration(parsing: self.timeout), timeout > .zero else {
            throw ValidationError("--timeout: expected a duration such as 30s, got \(self.timeout)")
        }
        let directory = await self.dataDirectory()
        guard let pid = DataDirectoryLock.runningServer(in: URL(fileURLWithPath: directory)) else {
            try Self.fail("no server is running on \(directory)")
        }
        let status = ReloadStatusFile.path(in: directory)
        // The server numbers its reloads: only an answer newer than this one is for our signal.
        let before = ReloadStatusFile.read(from: status)?.generation ?? 0
        guard kill(pid, SIGHUP) == 0 else {
            try Self.fail("could not signal the running server (pid \(pid)): \(String(cString: strerror(errno)))")
        }
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let outcome = ReloadStatusFile.read(from: status), outcome.generation > before, outcome.trigger == ReloadTrigger.signal.name {
                guard outcome.success else { try Self.fail(outcome.summary) }
                print(outcome.summary)
                return
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        try Self.fail("the server (pid \(pid)) did not report a reload within \(timeout.compactDescription); see its log")
    }

    /// The data directory: `--data-dir`, else as the configuration says. A configuration this
    /// command cannot read (the very file being fixed, perhaps) falls back to the environment and
    /// the default, so a broken file still gets the server's own precise error.
    private func dataDirectory() async -> String {
        if let directory = self.options.dataDir { return directory }
        if let settings = try? await self.options.loadSettings() { return settings.dataDirectory }
        if let directory = ProcessInfo.processInfo.environment["VIGIL_DATA_DIR"], !directory.isEmpty { return directory }
        return ServerSettings.defaultDataDirectory
    }

    private static func fail(_ message: String) throws -> Never {
        FileHandle.standardError.write(Data("vigil reload: \(message)\n".utf8))
        throw ExitCode(1)
    }
}
