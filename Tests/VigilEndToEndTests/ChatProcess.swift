import Foundation

/// `vigil chat` driven through pipes, as a script would: lines in on standard input, plain lines
/// out on standard output.
final class ChatProcess: @unchecked Sendable {
    let process = Process()
    let name: String
    let log: URL
    private let input = Pipe()

    init(_ server: ToolServer, name: String, extraArguments: [String] = []) throws {
        self.name = name
        self.log = server.directory.appendingPathComponent("chat-\(name)-\(UUID().uuidString.prefix(6)).log")
        _ = FileManager.default.createFile(atPath: self.log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: self.log)
        self.process.executableURL = URL(fileURLWithPath: server.vigil)
        self.process.arguments = ["chat", "--server", server.address, "--ca", server.caFile, "--name", name] + extraArguments
        self.process.standardInput = self.input
        self.process.standardOutput = handle
        self.process.standardError = handle
        try self.process.run()
    }

    var pid: Int32 { self.process.processIdentifier }
    var output: String { (try? String(contentsOf: self.log, encoding: .utf8)) ?? "" }
    var lines: [String] { self.output.split(separator: "\n").map(String.init) }

    /// Types a line.
    func type(_ line: String) {
        self.input.fileHandleForWriting.write(Data((line + "\n").utf8))
    }

    /// Waits until a line containing `text` has been printed (`count` times), and returns that line.
    @discardableResult
    func waitFor(_ text: String, count: Int = 1, timeout: Duration = .seconds(30)) async throws -> String {
        try await VigilEndToEndTests.waitFor("\(self.name)'s chat to print \"\(text)\"", timeout: timeout) { () -> String? in
            let matching = self.lines.filter { $0.contains(text) }
            return matching.count >= count ? matching[count - 1] : nil
        }
    }

    /// Lines containing `text`.
    func count(_ text: String) -> Int { self.lines.filter { $0.contains(text) }.count }

    /// Closes standard input (the chat leaves) and waits for the exit status.
    func finish(timeout: Duration = .seconds(30)) async throws -> Int32 {
        try? self.input.fileHandleForWriting.close()
        let deadline = ContinuousClock.now + timeout
        while self.process.isRunning {
            guard ContinuousClock.now < deadline else { throw E2EError("\(self.name)'s chat did not exit; output:\n\(self.output)") }
            try await Task.sleep(for: .milliseconds(20))
        }
        return self.process.terminationStatus
    }

    func stop() {
        if self.process.isRunning {
            kill(self.pid, SIGKILL)
            self.process.waitUntilExit()
        }
    }
}
