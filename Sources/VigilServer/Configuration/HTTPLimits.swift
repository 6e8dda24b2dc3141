/// Limits of the HTTP listener (`http.*`, env `VIGIL_HTTP_*`): how long a connection may sit idle
/// or take over a request, how large a request head may be, and how many connections may be open.
///
/// Without them an idle or trickling client holds a descriptor for ever, and enough of them starve
/// the agent listener of descriptors (docs/OPERATIONS.md, "HTTP limits").
public struct HTTPLimits: Sendable, Equatable {
    /// A connection with no request under way (between keep-alive requests, or before the first
    /// byte) is closed after this.
    public var idleTimeout: Duration = .seconds(60)
    /// From a request's first byte to the end of its head (request line and headers). A total, so
    /// a head sent a byte at a time cannot extend it. Past it: 408 and close.
    public var headerTimeout: Duration = .seconds(10)
    /// A request body must start arriving within this after the head, and the whole body within
    /// this plus one second per `bodyMinRate` bytes received. Past it: 408 and close.
    public var bodyTimeout: Duration = .seconds(30)
    /// Bytes per second a body must keep up, on average, beyond `bodyTimeout`.
    public var bodyMinRate = 1024
    /// Bytes of a request head (all header lines together, and any one of them). Larger: 431 and close.
    public var maxHeaderBytes = 32 << 10
    /// Open HTTP connections (WebSocket streams included). Connections beyond it are closed as
    /// soon as they are accepted, so they cannot use up the descriptors agents need.
    public var maxConnections = 4096
    /// After a 400/408/431, how long the rest of the request is read and discarded before the
    /// connection is closed (closing with unread input sends a reset that can destroy the answer).
    public var closeLinger: Duration = .seconds(2)

    public init() {}

    /// Checks values no single parser range can.
    func validate() throws {
        for (key, value, minimum) in [
            ("http.idle_timeout", self.idleTimeout, Duration.milliseconds(10)),
            ("http.header_timeout", self.headerTimeout, Duration.milliseconds(10)),
            ("http.body_timeout", self.bodyTimeout, Duration.milliseconds(10)),
            ("http.close_linger", self.closeLinger, Duration.zero),
        ] where value < minimum {
            throw ConfigurationError(description: "\(key) must be at least \(minimum.compactDescription) (got \(value.compactDescription))")
        }
    }
}
