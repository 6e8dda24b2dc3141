import ArgumentParser
import Foundation

/// What `vigil migrate` prints: progress and the verification on standard output (written at
/// once, unbuffered, so progress shows as it happens), a failure on standard error, then the
/// command exits with its code.
struct MigrationOutput: Sendable {
    func line(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    /// Prints the reason on standard error and returns the exit to throw.
    func failure(_ message: String, code: Int32 = 1) -> ExitCode {
        FileHandle.standardError.write(Data("vigil migrate: \(message)\n".utf8))
        return ExitCode(code)
    }
}
