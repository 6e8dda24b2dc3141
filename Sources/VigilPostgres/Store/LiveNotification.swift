/// What a LISTEN on a relay channel hands over (``PostgresStore/listen(channel:buffer:)``), in order.
public enum LiveNotification: Sendable, Equatable {
    /// Listening (again). Whatever was sent while this server was not listening is missed: the
    /// receiver reads the state it needs from the tables now, then applies the payloads after this.
    case listening
    /// One NOTIFY payload.
    case payload(String)
}
