#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A known client's delivery state: every client that ever registered has one.
///
/// A client's mail is every message with `id > deliveredThrough` addressed to it (privately, or by
/// a broadcast it did not send). Broadcasts stored before it became known (`id <= firstID`) are
/// never its mail.
public struct Mailbox: Sendable, Equatable {
    public var clientID: String
    /// `agent` or `user`, as it last registered.
    public var kind: String
    /// Every message of its mail up to this row id has been delivered and acknowledged.
    public var deliveredThrough: Int64
    /// The highest row id when it first became known.
    public var firstID: Int64
    /// Whether it receives the server's notices (it listed the `notices` capability when it last registered).
    public var notices: Bool
    public var createdAt: Date
    public var lastSeen: Date?

    public init(clientID: String, kind: String, deliveredThrough: Int64, firstID: Int64, notices: Bool, createdAt: Date, lastSeen: Date?) {
        self.clientID = clientID
        self.kind = kind
        self.deliveredThrough = deliveredThrough
        self.firstID = firstID
        self.notices = notices
        self.createdAt = createdAt
        self.lastSeen = lastSeen
    }
}

/// What a client says about itself when it registers, for its mailbox.
public struct MailboxRegistration: Sendable, Equatable {
    public var clientID: String
    public var kind: String
    public var notices: Bool
    public var at: Date
    /// `false` for a send-only connection: an existing mailbox keeps its kind and notices
    /// subscription (those of the client's ordinary registration); a new one is created with these.
    public var refreshesExisting: Bool

    public init(clientID: String, kind: String, notices: Bool, at: Date, refreshesExisting: Bool = true) {
        self.clientID = clientID
        self.kind = kind
        self.notices = notices
        self.at = at
        self.refreshesExisting = refreshesExisting
    }
}
