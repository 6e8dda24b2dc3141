import NIOCore

/// Who may speak plaintext on a port that also speaks TLS (`agents.plaintext`, `http.plaintext`).
///
/// The default, `loopback`, keeps local tools and old clients on 127.0.0.1 working while every
/// connection from another host must encrypt. A list of CIDR blocks widens that to trusted networks;
/// `never` refuses plaintext even from this host.
public enum PlaintextPolicy: Sendable, Equatable, CustomStringConvertible {
    case never
    case loopback
    /// Loopback plus these networks.
    case networks([CIDRBlock])

    /// Parses `never`, `loopback`, or CIDR blocks separated by commas (loopback is always included).
    public init?(parsing text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        switch trimmed {
        case "never": self = .never
        case "loopback": self = .loopback
        default:
            let parts = trimmed.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            var blocks: [CIDRBlock] = []
            for part in parts {
                guard let block = CIDRBlock(parsing: part) else { return nil }
                blocks.append(block)
            }
            guard !blocks.isEmpty else { return nil }
            self = .networks(blocks)
        }
    }

    /// Whether a plaintext connection from `peer` is allowed.
    public func allows(_ peer: SocketAddress?) -> Bool {
        switch self {
        case .never: return false
        case .loopback: return peer.map(Self.isLoopback) ?? false
        case .networks(let blocks):
            guard let peer else { return false }
            return Self.isLoopback(peer) || blocks.contains { $0.contains(peer) }
        }
    }

    public var description: String {
        switch self {
        case .never: "never"
        case .loopback: "loopback"
        case .networks(let blocks): blocks.map(\.description).joined(separator: ",")
        }
    }

    /// 127.0.0.0/8, ::1, and IPv4-mapped loopback (::ffff:127.x.y.z); a Unix socket is local too.
    static func isLoopback(_ address: SocketAddress) -> Bool {
        switch address {
        case .unixDomainSocket: return true
        case .v4: return CIDRBlock.loopbackV4.contains(address)
        case .v6:
            guard let bytes = CIDRBlock.addressBytes(address) else { return false }
            if bytes == [UInt8](repeating: 0, count: 15) + [1] { return true }
            return CIDRBlock.loopbackV4.contains(address)
        }
    }
}
