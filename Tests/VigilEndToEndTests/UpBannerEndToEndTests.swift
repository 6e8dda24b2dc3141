import Foundation
import Synchronization
import Testing

/// `vigil up` under a service manager writes to a pipe or a file, not a terminal: its banner (the
/// dashboard's address and the first admin's password) must still come out at once (issue 12).
@Suite("vigil up banner (real binary)")
struct UpBannerEndToEndTests {
    @Test("the banner reaches a pipe while vigil up runs")
    func bannerThroughPipe() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-e2e-up-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try Binaries.path("vigil"))
        process.arguments = ["up", "--data-dir", directory.appendingPathComponent("data").path, "--agent-port", "0", "--http-port", "0"]
        // No preset admin password: the banner carries the generated one.
        var environment = ProcessInfo.processInfo.environment
        environment["VIGIL_AUTH_INITIAL_ADMIN_PASSWORD"] = nil
        environment["VIGIL_AUTH_BCRYPT_COST"] = "4"
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer {
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            }
        }
        let received = Mutex("")
        pipe.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if data.isEmpty { handle.readabilityHandler = nil; return }
            received.withLock { $0 += String(decoding: data, as: UTF8.self) }
        }
        defer { pipe.fileHandleForReading.readabilityHandler = nil }
        let banner = try await waitFor("the banner on the pipe", timeout: .seconds(60)) { () -> String? in
            let text = received.withLock { $0 }
            return text.contains("Press Ctrl-C to stop.") ? text : nil
        }
        #expect(process.isRunning, "read while vigil up runs, not at exit")
        #expect(banner.contains("Vigil is up."))
        #expect(banner.contains("Dashboard: http://127.0.0.1:"))
        #expect(banner.contains("Sign in:  admin / "))
    }
}
