#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// The UDP socket of cluster discovery (`cluster.discovery`, PROTOCOL.md §14): bound to every
/// address on `cluster.discovery_port` with SO_REUSEADDR (so every member on one host has its own
/// socket and each gets every multicast and broadcast datagram), joined to
/// `cluster.discovery_group` on `cluster.discovery_interface`. Runs until shutdown.
struct DiscoveryService: Service {
    let settings: DiscoverySettings
    let view: @Sendable () -> DiscoveryResponder.View
    let group: any EventLoopGroup
    let logger: Logger

    func run() async throws {
        let channel = try await self.bind()
        self.logger.info("discovery: listening", metadata: [
            "port": "\(self.settings.port)", "group": "\(self.settings.group)", "interface": "\(self.settings.interface)",
        ])
        await withGracefulShutdownHandler {
            try? await channel.closeFuture.get()
        } onGracefulShutdown: {
            channel.close(promise: nil)
        }
    }

    /// Binds and joins the group; a failure (the port taken without SO_REUSEADDR, no such
    /// interface) fails the server's start, as a listener that cannot bind does.
    func bind() async throws -> any Channel {
        let settings = self.settings
        let view = self.view
        let logger = self.logger
        let channel: any Channel
        do {
            channel = try await DatagramBootstrap(group: self.group)
                .channelOption(.socketOption(.so_reuseaddr), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(DiscoveryHandler(settings: settings, view: view, logger: logger))
                    }
                }
                .bind(host: "0.0.0.0", port: settings.port)
                .get()
        } catch {
            throw ConfigurationError(description: "cluster.discovery_port \(settings.port): cannot bind UDP 0.0.0.0:\(settings.port): \(error)")
        }
        do {
            try await Self.join(channel, group: settings.group, interface: settings.interface)
        } catch {
            try? await channel.close()
            throw ConfigurationError(description: "cluster.discovery_interface \(settings.interface): cannot join cluster.discovery_group \(settings.group) on it: \(error)")
        }
        return channel
    }

    /// IP_ADD_MEMBERSHIP on the interface with this address. Set directly rather than through
    /// `MulticastChannel.joinGroup(_:device:)`, which refuses an interface without the MULTICAST
    /// flag, and the loopback interface has none on Linux although joining on it works.
    static func join(_ channel: any Channel, group: String, interface: String) async throws {
        guard case .v4(let groupAddress)? = DiscoverySettings.ipv4(group), case .v4(let interfaceAddress)? = DiscoverySettings.ipv4(interface) else {
            throw ConfigurationError(description: "cluster.discovery_group and cluster.discovery_interface must be IPv4 addresses")
        }
        guard let options = channel as? any SocketOptionProvider else {
            throw ConfigurationError(description: "cluster.discovery: the socket takes no options")
        }
        let request = ip_mreq(imr_multiaddr: groupAddress.address.sin_addr, imr_interface: interfaceAddress.address.sin_addr)
        try await options.unsafeSetSocketOption(level: .ip, name: .ip_add_membership, value: request).get()
    }
}
