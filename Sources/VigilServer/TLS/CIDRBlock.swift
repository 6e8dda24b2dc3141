import NIOCore

/// An IPv4 or IPv6 network such as `10.0.0.0/8` or `fd00::/8`; a bare address is a /32 or /128.
public struct CIDRBlock: Sendable, Equatable, CustomStringConvertible {
    /// Network bytes: 4 for IPv4, 16 for IPv6.
    let network: [UInt8]
    let prefixLength: Int

    static let loopbackV4 = CIDRBlock(network: [127, 0, 0, 0], prefixLength: 8)

    init(network: [UInt8], prefixLength: Int) {
        self.network = network
        self.prefixLength = prefixLength
    }

    public init?(parsing text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = try? SocketAddress(ipAddress: String(parts[0]), port: 0), let bytes = Self.addressBytes(address, unmapping: false) else { return nil }
        let length: Int
        if parts.count == 2 {
            guard let parsed = Int(parts[1]), (0...(bytes.count * 8)).contains(parsed) else { return nil }
            length = parsed
        } else {
            length = bytes.count * 8
        }
        self.init(network: Self.masked(bytes, to: length), prefixLength: length)
    }

    public func contains(_ address: SocketAddress) -> Bool {
        // An IPv4 peer on a dual-stack socket arrives as ::ffff:a.b.c.d: compare it as IPv4.
        guard let bytes = Self.addressBytes(address, unmapping: self.network.count == 4), bytes.count == self.network.count else { return false }
        return Self.masked(bytes, to: self.prefixLength) == self.network
    }

    public var description: String {
        let address: String
        if self.network.count == 4 {
            address = self.network.map(String.init).joined(separator: ".")
        } else {
            address = stride(from: 0, to: 16, by: 2).map { String(UInt16(self.network[$0]) << 8 | UInt16(self.network[$0 + 1]), radix: 16) }.joined(separator: ":")
        }
        return "\(address)/\(self.prefixLength)"
    }

    /// The address's bytes; with `unmapping`, an IPv4-mapped IPv6 address gives its 4 IPv4 bytes.
    static func addressBytes(_ address: SocketAddress, unmapping: Bool = true) -> [UInt8]? {
        switch address {
        case .v4(let v4):
            return withUnsafeBytes(of: v4.address.sin_addr.s_addr) { Array($0) }
        case .v6(let v6):
            let bytes = withUnsafeBytes(of: v6.address.sin6_addr) { Array($0) }
            if unmapping, bytes.prefix(10).allSatisfy({ $0 == 0 }), bytes[10] == 0xff, bytes[11] == 0xff {
                return Array(bytes.suffix(4))
            }
            return bytes
        case .unixDomainSocket:
            return nil
        }
    }

    private static func masked(_ bytes: [UInt8], to length: Int) -> [UInt8] {
        bytes.enumerated().map { index, byte in
            let bits = max(0, min(8, length - index * 8))
            return bits == 8 ? byte : bits == 0 ? 0 : byte & ~(0xff >> bits)
        }
    }
}
