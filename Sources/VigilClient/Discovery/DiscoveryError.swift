import VigilProtocol

/// Why ``ServerDiscovery/discover(_:group:)`` found no server.
public enum DiscoveryError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The group or interface is not an IPv4 address.
    case invalidAddress(String)
    /// No valid `SERVER_ANNOUNCE` arrived in time.
    case noAnswer(group: String, port: Int, timeout: Duration)

    public var description: String {
        switch self {
        case .invalidAddress(let text): "not an IPv4 address: \(text.logEscaped)"
        case .noAnswer(let group, let port, let timeout): "no server answered discovery on \(group):\(port) within \(timeout)"
        }
    }
}

