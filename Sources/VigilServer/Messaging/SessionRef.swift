import NIOCore

/// How the message service, off the event loops, reaches one connection's mailbox: every call hops
/// onto the connection's loop.
struct SessionRef: Sendable {
    let connectionID: UInt64
    let eventLoop: any EventLoop
    private let mailbox: NIOLoopBound<SessionMailbox>

    /// Must be created on `mailbox`'s event loop.
    init(connectionID: UInt64, eventLoop: any EventLoop, mailbox: SessionMailbox) {
        self.connectionID = connectionID
        self.eventLoop = eventLoop
        self.mailbox = NIOLoopBound(mailbox, eventLoop: eventLoop)
    }

    /// Runs `body` with the mailbox on its event loop (later, in the order of calls).
    func run(_ body: @escaping @Sendable (SessionMailbox) -> Void) {
        let mailbox = self.mailbox
        self.eventLoop.execute { body(mailbox.value) }
    }
}
