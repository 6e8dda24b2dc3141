import Hummingbird
import HummingbirdAuth
import HummingbirdWebSocket
import NIOCore
import VigilStore

/// Who made an HTTP request: the user a valid session token names.
public struct SignedInUser: Sendable, Equatable {
    /// The user's name.
    public var name: String
    /// The user's role at the time the token was checked.
    public var role: UserRole
    /// The session (refresh-token family) the access token belongs to; signing out ends it.
    public var sessionID: String

    public init(name: String, role: UserRole, sessionID: String) {
        self.name = name
        self.role = role
        self.sessionID = sessionID
    }
}

/// The request context of every Vigil HTTP route: the signed-in user (set by the authentication
/// middleware) and what the WebSocket upgrade of `GET /api/stream` needs.
public struct VigilRequestContext: AuthRequestContext, WebSocketRequestContext, RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var identity: SignedInUser?
    public let webSocket: WebSocketHandlerReference<VigilRequestContext>
    /// The connection the request came on: its peer address, and the live stream closes it to drop
    /// a client that stopped reading (a close frame cannot reach a client whose buffers are full).
    public let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.identity = nil
        self.webSocket = .init()
        self.channel = source.channel
    }
}
