import Foundation

#if canImport(Glibc)
import Glibc
#endif

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
                && FileManager.default.isExecutableFile(atPath: directory + "/pg_ctl") {
                return Tools(directory: directory, asPostgresUser: geteuid() == 0)
            }
            return nil
        }

        /// Runs a tool to its end without blocking a Swift concurrency thread; throws with its
        /// output when it fails. Returns its standard output.
        @discardableResult
        func run(_ tool: String, _ arguments: [String]) async throws -> String {
            let executable = tool == "psql" && !FileManager.default.isExecutableFile(atPath: self.directory + "/psql")
                ? "/usr/bin/psql" : self.directory + "/" + tool
            let process = Process()
            if self.asPostgresUser {
                process.executableURL = URL(fileURLWithPath: "/usr/sbin/runuser")
                process.arguments = ["-u", "postgres", "--", executable] + arguments
            } else {
                process.executableURL = URL(fileURLWithPath: executable)
                process.arguments = arguments
            }
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
            try process.run()
            let status = try await Self.exitStatus(of: process)
            let out = (try? String(contentsOf: outputFile, encoding: .utf8)) ?? ""
            let err = (try? String(contentsOf: errorFile, encoding: .utf8)) ?? ""
            guard status == 0 else {
                throw Unavailable(description: "\(tool) \(arguments.joined(separator: " ")) exited \(status): \(err.isEmpty ? out : err)")
            }
            return out
        }

        /// Waits for a child to exit, polling (a Swift concurrency thread never blocks). Foundation
        /// alone does not do: it learns of an exit when a socket it gives the child closes, and the
        /// server `pg_ctl start` leaves running inherits that socket, so `terminationHandler` would
        /// only run when the server stops. So the child is reaped here with `waitpid`, unless
        /// Foundation got there first (`ECHILD`), whose status is then taken.
        static func exitStatus(of process: Process) async throws -> Int32 {
            let pid = process.processIdentifier
            var status: Int32 = 0
            while true {
                let result = waitpid(pid, &status, WNOHANG)
                if result == pid { break }
                if result == -1 && errno == ECHILD {
                    while process.isRunning { try await Task.sleep(for: .milliseconds(10)) }
                    return process.terminationStatus
                }
                if result == -1 && errno != EINTR {
                    throw Unavailable(description: "waitpid(\(pid)) failed: errno \(errno)")
                }
                try await Task.sleep(for: .milliseconds(10))
            }
            // WIFEXITED / WEXITSTATUS; a signal's death reads as 128 + the signal, as in a shell.
            return status & 0x7F == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        }
    }
}
