#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NIOCore
import VigilConnection
import VigilPostgres
import VigilProtocol

/// What to do with one discovery datagram: a pure decision, from the datagram and this server's
/// view of its cluster, so every case is tested without a socket (DiscoveryResponderTests).
struct DiscoveryResponder: Sendable {
    /// This server's view of its cluster when the datagram arrives.
    struct View: Sendable {
        var memberID: String
        /// Whether this server leads now: only the leader answers, so a cluster answers once.
        var isLeader: Bool
        /// The live members, with their load and capacity (this server's last heartbeat's reading).
        var members: [ClusterMember]
    }

    enum Decision: Sendable, Equatable {
        /// Send this datagram back to the sender.
        case answer(DiscoveryDatagram)
        /// A well-formed request that this server leaves alone (a follower; see ``Silence``).
        case silent(Silence)
        /// Not a discovery request at all: logged (rate-limited), never answered.
        case ignored(ProtocolViolation)
    }

    enum Silence: Sendable, Equatable {
        /// Another member leads and answers.
        case follower
        /// Every live member is at capacity (or none is known yet): there is nobody to name.
        case noMemberWithRoom
        /// The chosen member advertises an agent address that is not `host:port`.
        case unusableAddress(String)
    }

    /// Datagrams longer than this are ignored unread.
    let maxDatagramBytes: Int

    /// - Parameters:
    ///   - datagram: The bytes received.
    ///   - view: The cluster as this server sees it now.
    ///   - now: The answer's `timestamp`.
    ///   - replyID: The answer's `message_id`.
    func decide(_ datagram: ByteBuffer, view: View, now: Date, replyID: String) -> Decision {
        let request: DiscoveryDatagram
        do {
            request = try DiscoveryDatagram.decode(datagram, maxBytes: self.maxDatagramBytes)
        } catch {
            return .ignored(error)
        }
        guard case .discovery = request.body else {
            return .ignored(ProtocolViolation(.unexpectedType, "\(request.type.rawValue) is sent by servers, not to them"))
        }
        guard view.isLeader else { return .silent(.follower) }
        // Tolerance plays no part in choosing a target.
        guard let member = ClusterBalance(members: view.members, me: view.memberID, tolerance: 0).discoveryTarget else {
            return .silent(.noMemberWithRoom)
        }
        guard let address = ServerAddress(parsing: member.agentAddress) else { return .silent(.unusableAddress(member.agentAddress)) }
        let announce = ServerAnnouncePayload(assignedHost: address.host, assignedTCPPort: address.port, serverID: member.id)
        return .answer(DiscoveryDatagram(.announce(announce), senderID: view.memberID, timestamp: now.timeIntervalSince1970, messageID: replyID))
    }
}
