import Foundation
import VigilProtocol
import VigilAPI
import VigilStore

/// How the tracker reaches a connection it does not own: to close one that another connection of
/// the same host supersedes.
public struct ConnectionHandle: Sendable {
    public let id: UInt64
    /// Sends `SERVER_RESPONSE` with the code and message, then closes. Callable from any thread.
    public let close: @Sendable (_ code: ErrorCode, _ message: String) -> Void

    public init(id: UInt64, close: @escaping @Sendable (_ code: ErrorCode, _ message: String) -> Void) {
        self.id = id
        self.close = close
    }
}

/// What a host told us about itself when it registered.
public struct RegistrationInfo: Sendable, Equatable {
    public var agentVersion: String?
    public var protocolVersion: Int
    public var capabilities: [String]
    /// The peer address, `ip:port`.
    public var address: String?

    public init(agentVersion: String?, protocolVersion: Int, capabilities: [String], address: String?) {
        self.agentVersion = agentVersion
        self.protocolVersion = protocolVersion
        self.capabilities = capabilities
        self.address = address
    }
}

/// What the tracker publishes, in order, for the recorder to log and store.
public enum LivenessUpdate: Sendable {
    case transition(LivenessEvent)
    case registered(hostname: String, info: RegistrationInfo, at: Date)
}

