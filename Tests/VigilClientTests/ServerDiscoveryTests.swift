import Foundation
import Logging
import NIOCore
import NIOPosix
import Testing
import VigilClient
import VigilPostgres
import VigilProtocol
@testable import VigilServer

/// ``ServerDiscovery`` against the server's real ``DiscoveryService`` on loopback sockets: by
/// multicast (two services sharing the port, the leader answers), broadcast and unicast.
@Suite("Server discovery", .serialized)
struct ServerDiscoveryTests {
    /// Runs a discovery service per entry of `leaders` (true: it leads) on one port, then `body`.
    private func withServices(leaders: [Bool], _ body: (Int) async throws -> Void) async throws {
        var settings = DiscoverySettings()
        settings.enabled = true
        settings.port = 0  // the first service's port, chosen by the kernel, is the others' (no race for a free port)
        settings.interface = "127.0.0.1"
        var channels: [any Channel] = []
        defer { for channel in channels { channel.close(promise: nil) } }
        for (index, leads) in leaders.enumerated() {
            let members = [ClusterMember(id: "member-\(index)", agentAddress: "127.0.0.1:\(7000 + index)", httpAddress: "-", load: 0, capacity: 0, startedAt: Date())]
            let service = DiscoveryService(settings: settings, view: { .init(memberID: "member-\(index)", isLeader: leads, members: members) },
                                           group: MultiThreadedEventLoopGroup.singleton, logger: Logger(label: "discovery-test"))
            let channel = try await service.bind()
            channels.append(channel)
            if settings.port == 0 { settings.port = try #require(channel.localAddress?.port) }
        }
        try await body(settings.port)
    }

    private func ask(_ group: String, port: Int, timeout: Duration = .seconds(3)) async throws -> ServerAnnouncePayload {
        var settings = ClientDiscoverySettings(name: "alice")
        settings.group = group
        settings.port = port
        settings.interface = "127.0.0.1"
        settings.timeout = timeout
        return try await ServerDiscovery.discover(settings)
    }

    @Test("multicast to the group over loopback: two services share the port, the leader names its member")
    func multicast() async throws {
        try await self.withServices(leaders: [false, true]) { port in
            let announce = try await self.ask(DiscoveryDefaults.group, port: port)
            #expect(announce == ServerAnnouncePayload(assignedHost: "127.0.0.1", assignedTCPPort: 7001, serverID: "member-1"))
        }
    }

    @Test("broadcast and unicast reach a service too")
    func broadcastAndUnicast() async throws {
        try await self.withServices(leaders: [true]) { port in
            let broadcast = try await self.ask("127.255.255.255", port: port)
            let unicast = try await self.ask("127.0.0.1", port: port)
            #expect(broadcast.serverID == "member-0")
            #expect(unicast.serverID == "member-0")
        }
    }

    @Test("no leader answers: DiscoveryError.noAnswer after the timeout; a group that is not an IPv4 address is refused")
    func noAnswer() async throws {
        try await self.withServices(leaders: [false]) { port in
            await #expect(throws: DiscoveryError.noAnswer(group: DiscoveryDefaults.group, port: port, timeout: .milliseconds(600))) {
                _ = try await self.ask(DiscoveryDefaults.group, port: port, timeout: .milliseconds(600))
            }
        }
        await #expect(throws: DiscoveryError.invalidAddress("servers.example")) { _ = try await self.ask("servers.example", port: 5007) }
    }

    @Test("an interface this host does not have fails the start, naming cluster.discovery_interface")
    func foreignInterface() async throws {
        var settings = DiscoverySettings()
        settings.enabled = true
        settings.port = 0
        settings.interface = "198.51.100.77"  // TEST-NET-2: on no interface here
        let service = DiscoveryService(settings: settings, view: { .init(memberID: "m", isLeader: true, members: []) },
                                       group: MultiThreadedEventLoopGroup.singleton, logger: Logger(label: "discovery-test"))
        let error = await #expect(throws: ConfigurationError.self) { _ = try await service.bind() }
        #expect(error?.description.contains("cluster.discovery_interface 198.51.100.77") == true, "\(error?.description ?? "-")")
    }
}
