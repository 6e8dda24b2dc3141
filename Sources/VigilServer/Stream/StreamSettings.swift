/// The live stream's limits (`stream.*`, env `VIGIL_STREAM_*`): how long a client may take to sign
/// in, how often its session is re-checked, how often fleet summaries go out, and how much one
/// client may hold in the server's memory before it is dropped.
public struct StreamSettings: Sendable, Equatable {
    /// The first message must be `{"type":"auth",…}` within this; otherwise close 4001.
    public var authTimeout: Duration = .seconds(5)
    /// How often a connected client's session is checked (sign-out ends the stream within this).
    public var sessionCheckInterval: Duration = .seconds(1)
    /// At most one `fleet` message per client per this interval (changes in between are coalesced).
    public var fleetInterval: Duration = .seconds(1)
    /// Messages waiting for one client; past this the client is dropped (close 1008 "too slow").
    public var maxQueuedMessages = 256
    /// Bytes waiting for one client; past this the client is dropped (close 1008 "too slow"). One
    /// message is always taken when nothing waits (a full fleet summary of a large fleet may be bigger).
    public var maxQueuedBytes = 4 << 20
    /// Open stream connections; further upgrades are answered 503.
    public var maxClients = 10_000
    /// The largest message a client may send (larger: close 1009).
    public var maxMessageSize = 64 << 10
    /// Topics one client may be subscribed to at once (each `host:<name>` counts).
    public var maxTopics = 1000
    /// Items published (samples, events, messages) waiting to be encoded and fanned out; past this
    /// new items are skipped and counted, so ingest never waits for the stream.
    public var maxPendingItems = 100_000
    /// After a drop, how long the close frame may take before the connection is cut.
    public var closeTimeout: Duration = .seconds(2)

    public init() {}

    /// Checks values no single parser range can.
    func validate() throws {
        for (key, value, minimum) in [
            ("stream.auth_timeout", self.authTimeout, Duration.milliseconds(10)),
            ("stream.session_check_interval", self.sessionCheckInterval, Duration.milliseconds(10)),
            ("stream.fleet_interval", self.fleetInterval, Duration.milliseconds(10)),
            ("stream.close_timeout", self.closeTimeout, Duration.milliseconds(1)),
        ] where value < minimum {
            throw ConfigurationError(description: "\(key) must be at least \(minimum.compactDescription) (got \(value.compactDescription))")
        }
    }
}
