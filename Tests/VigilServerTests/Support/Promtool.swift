import Foundation
import Testing

/// `promtool check metrics` (Debian package `prometheus`; .ci/run installs it), run on a thread of
/// its own so the test's cooperative pool is never blocked waiting for it.
enum Promtool {
    static let path: String? = ["/usr/bin/promtool", "/usr/local/bin/promtool"].first { FileManager.default.isExecutableFile(atPath: $0) }
    static let skipReason: Comment = "promtool is not installed (Debian package prometheus; .ci/run installs it)"

    /// Lints exposition text: exit status 0 and no output mean nothing to say (it exits 3 on lint
    /// warnings alone, 1 on a parse error).
    static func checkMetrics(_ text: [UInt8]) async throws -> (status: Int32, output: String) {
        guard let path = self.path else {
            print("skipped: \(self.skipReason)")
            return (0, "")
        }
        let input = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-promtool-\(UUID().uuidString).prom")
        try Data(text).write(to: input)
        defer { try? FileManager.default.removeItem(at: input) }
        return try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                do {
                    let process = Process()
                    let pipe = Pipe()
                    process.executableURL = URL(fileURLWithPath: path)
                    process.arguments = ["check", "metrics"]
                    process.standardInput = try FileHandle(forReadingFrom: input)
                    process.standardOutput = pipe
                    process.standardError = pipe
                    try process.run()
                    let output = pipe.fileHandleForReading.readDataToEndOfFile()
                    process.waitUntilExit()
                    continuation.resume(returning: (process.terminationStatus, String(decoding: output, as: UTF8.self)))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }
}
