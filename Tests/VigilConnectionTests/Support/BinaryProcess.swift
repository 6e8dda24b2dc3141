import Foundation
import Testing

/// Runs a built executable (`vigil-agent` unless told; beside this test bundle, as in
/// VigilEndToEndTests) with its output in a file, and kills it when the test is done with it.
final class AgentProcess: @unchecked Sendable {
    let process = Process()
    let log: URL

    static func executable(_ name: String = "vigil-agent") throws -> String {
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        while url.pathExtension != "xctest" && url.path != "/" { url.deleteLastPathComponent() }
        let directory = ProcessInfo.processInfo.environment["VIGIL_BIN_DIR"].map { URL(fileURLWithPath: $0) } ?? url.deletingLastPathComponent()
        let path = directory.appendingPathComponent(name).path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw TestFailure("\(path) is missing: run `swift build` before `swift test`")
        }
        return path
    }

    init(_ arguments: [String], log: URL, executable: String = "vigil-agent") throws {
        self.log = log
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        self.process.executableURL = URL(fileURLWithPath: try Self.executable(executable))
        self.process.arguments = arguments
        self.process.standardOutput = handle
        self.process.standardError = handle
        // No inherited agent settings: the test's flags alone decide.
        self.process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("VIGIL_") }
        try self.process.run()
    }

    var output: String { (try? String(contentsOf: self.log, encoding: .utf8)) ?? "" }

    /// The exit status, or `nil` if still running after `timeout`.
    func waitForExit(timeout: Duration = .seconds(20)) async throws -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while self.process.isRunning {
            guard ContinuousClock.now < deadline else { return nil }
            try await Task.sleep(for: .milliseconds(20))
        }
        return self.process.terminationStatus
    }

    func stop() {
        if self.process.isRunning {
            kill(self.process.processIdentifier, SIGKILL)
            self.process.waitUntilExit()
        }
    }

    deinit { self.stop() }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A fresh directory under the temporary directory, removed by the caller.
func temporaryDirectory(_ prefix: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Polls `condition` every 20 ms until it holds or `timeout` passes.
func eventually(timeout: Duration = .seconds(20), _ condition: () -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        guard ContinuousClock.now < deadline else { return false }
        try await Task.sleep(for: .milliseconds(20))
    }
    return true
}
