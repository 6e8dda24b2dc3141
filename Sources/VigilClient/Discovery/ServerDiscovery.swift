#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NIOCore
import NIOPosix
import VigilConnection
import VigilProtocol

/// Finds a server of a cluster the way the original envelope-only client did: one
/// `SERVER_DISCOVERY` datagram to the discovery group (PROTOCOL.md §14), and the leader's unicast
/// `SERVER_ANNOUNCE` names the member to connect to.
public enum ServerDiscovery {
    /// Asks until a valid `SERVER_ANNOUNCE` arrives or `settings.timeout` passes.
    ///
    /// - Returns: The announced member's agent address and id.
    /// - Throws: ``DiscoveryError``, or a socket error.
    public static func discover(_ settings: ClientDiscoverySettings, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws -> ServerAnnouncePayload {
        guard let target = try? SocketAddress(ipAddress: settings.group, port: settings.port), case .v4 = target else {
            throw DiscoveryError.invalidAddress(settings.group)
        }
        let interface: in_addr? = try settings.interface.map { text in
            guard case .v4(let address)? = try? SocketAddress(ipAddress: text, port: 0) else { throw DiscoveryError.invalidAddress(text) }
            return address.address.sin_addr
        }
        let maxBytes = settings.maxDatagramBytes
        let channel = try await DatagramBootstrap(group: group)
            .channelOption(.socketOption(.so_broadcast), value: 1)  // a broadcast address as the group
            .channelOption(.maxMessagesPerRead, value: 16)
            .bind(host: "0.0.0.0", port: 0) { channel in
                let chosen: EventLoopFuture<Void> = if let interface, let options = channel as? any SocketOptionProvider {
                    options.setIPMulticastIF(interface)
                } else {
                    channel.eventLoop.makeSucceededVoidFuture()
                }
                return chosen.flatMapThrowing {
                    try NIOAsyncChannel<AddressedEnvelope<ByteBuffer>, AddressedEnvelope<ByteBuffer>>(wrappingChannelSynchronously: channel)
                }
            }
        let request = DiscoveryDatagram(.discovery(ServerDiscoveryPayload()), senderID: settings.name,
                                        timestamp: Date().timeIntervalSince1970, messageID: UUID().uuidString.lowercased())
        return try await channel.executeThenClose { inbound, outbound in
            try await withThrowingTaskGroup(of: ServerAnnouncePayload?.self) { tasks in
                tasks.addTask {
                    for try await datagram in inbound {
                        if let announce = Self.announce(in: datagram.data, maxBytes: maxBytes) { return announce }
                    }
                    return nil
                }
                tasks.addTask {
                    let deadline = ContinuousClock.now + settings.timeout
                    while ContinuousClock.now < deadline {
                        try await outbound.write(AddressedEnvelope(remoteAddress: target, data: request.encoded()))
                        try await Task.sleep(for: min(settings.resendInterval, deadline - ContinuousClock.now))
                    }
                    return nil
                }
                defer { tasks.cancelAll() }
                guard let first = try await tasks.next(), let announce = first else {
                    throw DiscoveryError.noAnswer(group: settings.group, port: settings.port, timeout: settings.timeout)
                }
                return announce
            }
        }
    }

    /// The payload of a valid `SERVER_ANNOUNCE`; `nil` for anything else (another client's
    /// request looped back, garbage, an announce without a usable address).
    static func announce(in datagram: ByteBuffer, maxBytes: Int) -> ServerAnnouncePayload? {
        guard case .announce(let payload)? = try? DiscoveryDatagram.decode(datagram, maxBytes: maxBytes).body,
              !payload.assignedHost.isEmpty, (1...65535).contains(payload.assignedTCPPort)
        else { return nil }
        return payload
    }
}

extension ServerAnnouncePayload {
    /// Where to connect.
    public var address: ServerAddress { ServerAddress(host: self.assignedHost, port: self.assignedTCPPort) }
}
