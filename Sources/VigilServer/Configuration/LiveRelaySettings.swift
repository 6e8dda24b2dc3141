/// `cluster.relay_*`: how the members of a cluster share their live view over PostgreSQL
/// LISTEN/NOTIFY (``LiveRelay``). Unused by a single server.
public struct LiveRelaySettings: Sendable, Equatable {
    /// How long items wait to be sent together (`cluster.relay_flush_interval`): the delay another
    /// member's view has on this one's, and the unit of batching.
    public var flushInterval: Duration = .milliseconds(100)
    /// The most bytes of one NOTIFY payload (`cluster.relay_payload_bytes`), several items each;
    /// PostgreSQL refuses 8000 and more. A sample that does not fit has its process lists cut
    /// (halved, their tops kept) until it does; any other item that does not fit is skipped and counted.
    public var payloadBytes = 7900
    /// Items waiting to be sent (`cluster.relay_max_pending`); past it new ones are skipped and
    /// counted rather than slowing ingest.
    public var maxPending = 20_000
    /// Payloads sent in one statement (`cluster.relay_max_payloads_per_statement`).
    public var maxPayloadsPerStatement = 256
    /// Payloads received and not yet applied (`cluster.relay_receive_buffer`); past it the oldest are dropped.
    public var receiveBuffer = 10_000

    public init() {}
}
