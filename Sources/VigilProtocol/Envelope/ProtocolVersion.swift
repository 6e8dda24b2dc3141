/// Versions of the wire protocol.
public enum ProtocolVersion {
    /// The version this build speaks and sends in `CLIENT_REGISTER`.
    public static let current = 1
    /// The versions a server of this build accepts.
    public static let supported: ClosedRange<Int> = 1...1
}
