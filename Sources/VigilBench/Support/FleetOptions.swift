import ArgumentParser
import Foundation
import NIOCore

/// The options of the scenarios that hold a live fleet (`connections`, `ingest`): how many agents,
/// how they connect, and the open-file limit and server they need.
struct FleetOptions: ParsableArguments {
    @Option(help: "Agents to connect and hold.")
    var agents = 1000

    @Option(help: "Agents connecting at once.")
    var connectBatch = 500

    @Option(help: "Connections per source address before the next one in 127.0.0.0/8 is used.")
    var perSource = 50_000

    @Option(help: "Event loop threads of the load generator (default: one per core).")
    var threads: Int?

    func validate() throws {
        guard self.agents >= 1, self.agents <= 1_000_000 else { throw ValidationError("--agents must be in 1...1000000") }
        guard self.connectBatch >= 1, self.perSource >= 1, self.perSource <= 60_000 else {
            throw ValidationError("--connect-batch must be positive, --per-source in 1...60000")
        }
    }

    var loadGeneratorThreads: Int { self.threads ?? System.coreCount }

    /// Source addresses the fleet uses.
    var sourceAddresses: Int { (self.agents - 1) / self.perSource + 1 }

    /// Raises the open-file limit for the fleet; each agent needs a socket here and one in the
    /// server (which inherits the limit), so the run stops at once, saying so, when it cannot.
    /// - Returns: The limit in force.
    func raiseFileLimit() throws -> UInt64 {
        let openFiles = FileLimit.raise(to: UInt64(self.agents) * 2 + 1024)
        guard openFiles >= UInt64(self.agents) + 256 else {
            throw BenchmarkError("the open-file limit is \(openFiles); \(self.agents) agents need at least \(self.agents + 256) here and in the server (raise the hard limit: ulimit -Hn)")
        }
        return openFiles
    }

    /// A server with open enrollment at the given heartbeat interval.
    func startServer(_ common: CommonOptions, heartbeat: Double, environment extra: [String: String] = [:]) async throws -> ServerProcess {
        try await ServerProcess.start(executable: common.executable, environment: [
            "VIGIL_AGENTS_OPEN_ENROLLMENT": "true",
            "VIGIL_HEARTBEAT_INTERVAL": "\(Int((heartbeat * 1000).rounded()))ms",
            "VIGIL_LOG_LEVEL": "warning",
        ].merging(extra) { $1 }, tls: common.tls)
    }
}
