import ArgumentParser
import VigilClient
import VigilConnection
import VigilProtocol

/// `--discover` and its companions: find the server through cluster discovery (a UDP
/// `SERVER_DISCOVERY`, PROTOCOL.md §14) instead of naming it with `--server`.
struct DiscoveryOptions: ParsableArguments {
    @Flag(help: "Ask the cluster which server to use (UDP discovery; the servers run with cluster.discovery on) instead of --server.")
    var discover = false

    @Option(help: ArgumentHelp("Where the discovery request goes: the servers' multicast group (default \(DiscoveryDefaults.group)), a broadcast address, or one server's IPv4 address.", valueName: "address"))
    var discoveryGroup: String?

    @Option(help: ArgumentHelp("The servers' discovery port (default \(DiscoveryDefaults.port)).", valueName: "port"))
    var discoveryPort: Int?

    @Option(help: ArgumentHelp("The IPv4 address of the interface the request goes out on (default: the kernel's choice; 127.0.0.1 for servers on this host).", valueName: "address"))
    var discoveryInterface: String?

    @Option(help: ArgumentHelp("Seconds to wait for an answer.", valueName: "seconds"))
    var discoveryTimeout: Double = 3

    func validate() throws {
        if let port = self.discoveryPort, !(1...65535).contains(port) { throw ValidationError("--discovery-port must be between 1 and 65535") }
        guard self.discoveryTimeout > 0, self.discoveryTimeout <= 3600 else { throw ValidationError("--discovery-timeout must be between 0 and 3600 seconds") }
        if !self.discover, self.discoveryGroup != nil || self.discoveryPort != nil || self.discoveryInterface != nil {
            throw ValidationError("--discovery-group, --discovery-port and --discovery-interface need --discover")
        }
    }

    /// The announced server's address; on no answer, a message on standard error and exit status 2
    /// (the server could not be reached), as the tools use for an unreachable server.
    func discoverServer(name: String) async throws -> ServerAddress {
        var settings = ClientDiscoverySettings(name: name)
        if let group = self.discoveryGroup { settings.group = group }
        if let port = self.discoveryPort { settings.port = port }
        settings.interface = self.discoveryInterface
        settings.timeout = .milliseconds(Int64(self.discoveryTimeout * 1000))
        do {
            return try await ServerDiscovery.discover(settings).address
        } catch let error as DiscoveryError {
            if case .invalidAddress = error { throw ValidationError("--discover: \(error)") }
            Output.standardError("vigil: \(error)\n")
            throw ExitCode(ClientExitCode.unreachable)
        }
    }
}
