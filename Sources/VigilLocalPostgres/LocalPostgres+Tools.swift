import Foundation

extension LocalPostgres {
    /// Where the PostgreSQL programs are, and whether they must run as the `postgres` user.
    struct Tools: Sendable {
        let directory: String
        let asPostgresUser: Bool

        static func find() -> Tools? {
            var candidates = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin").split(separator: ":").map(String.init)
            // Debian's packages keep the server programs out of PATH.
            if let versions = try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql") {
                candidates += versions.sorted { (Int($0) ?? 0) > (Int($1) ?? 0) }.map { "/usr/lib/postgresql/\($0)/bin" }
            }
            for directory in candidates where FileManager.default.isExecutableFile(atPath: directory + "/initdb")
                && FileManager.default.isExecutableFile(atPath: directory + "/postgres") {
                return Tools(directory: directory, asPostgresUser: geteuid() == 0)
            }
            return nil
        }

        /// Runs a tool to its end without blocking a Swift concurrency thread; throws with its
        /// output when it fails. Returns its standard output.
        @discardableResult
        func run(_ tool: String, _ arguments: [String]) async throws -> String {
            let process = self.process(tool, arguments)
            // Output goes to files, not pipes: the server pg_ctl starts could inherit a pipe and
            // hold it open, and a pipe read must not block a Swift concurrency thread.
            let outputFile = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-pg-\(UUID().uuidString).out")
            let errorFile = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-pg-\(UUID().uuidString).err")
            FileManager.default.createFile(atPath: outputFile.path, contents: nil)
            FileManager.default.createFile(atPath: errorFile.path, contents: nil)
            defer {
                try? FileManager.default.removeItem(at: outputFile)
                try? FileManager.default.removeItem(at: errorFile)
            }
            let output = try FileHandle(forWritingTo: outputFile)
            let errors = try FileHandle(forWritingTo: errorFile)
            defer {
                try? output.close()
                try? errors.close()
            }
            process.standardOutput = output
            process.standardError = errors
            process.standardInput = FileHandle.nullDevice
            let status: Int32 = try await withCheckedThrowingContinuation { continuation in
                process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
                do { try process.run() } catch { continuation.resume(throwing: error) }
            }
            let out = (try? String(contentsOf: outputFile, encoding: .utf8)) ?? ""
            let err = (try? String(contentsOf: errorFile, encoding: .utf8)) ?? ""
            guard status == 0 else {
                throw Unavailable(description: "\(tool) \(arguments.joined(separator: " ")) exited \(status): \(err.isEmpty ? out : err)")
            }
            return out
        }

        /// The path of a tool: the server's directory first, then Debian's client tools.
        func path(_ tool: String) -> String {
            let own = self.directory + "/" + tool
            if FileManager.default.isExecutableFile(atPath: own) { return own }
            let resolved = (try? FileManager.default.destinationOfSymbolicLink(atPath: own)).map { URL(fileURLWithPath: $0).deletingLastPathComponent().path + "/" + tool }
            if let resolved, FileManager.default.isExecutableFile(atPath: resolved) { return resolved }
            return "/usr/bin/" + tool
        }

        /// A process for a tool; the server-side tools (`initdb`, `postgres`) run as the
        /// `postgres` user when we are root, the clients as ourselves.
        func process(_ tool: String, _ arguments: [String]) -> Process {
            let process = Process()
            let executable = self.path(tool)
            if self.asPostgresUser, tool == "initdb" || tool == "postgres" {
                process.executableURL = URL(fileURLWithPath: "/usr/sbin/runuser")
                process.arguments = ["-u", "postgres", "--", executable] + arguments
            } else {
                process.executableURL = URL(fileURLWithPath: executable)
                process.arguments = arguments
            }
            return process
        }

        /// Starts a long-running tool (the server) with its output appended to `log`.
        func launch(_ tool: String, _ arguments: [String], log: URL) throws -> RunningServer {
            let process = self.process(tool, arguments)
            if !FileManager.default.fileExists(atPath: log.path) { FileManager.default.createFile(atPath: log.path, contents: nil) }
            let output = try FileHandle(forWritingTo: log)
            output.seekToEndOfFile()
            process.standardOutput = output
            process.standardError = output
            process.standardInput = FileHandle.nullDevice
            let server = RunningServer(process: process, viaRunuser: process.executableURL?.lastPathComponent == "runuser")
            try process.run()
            try? output.close()
            return server
        }
    }
}
