/// Versions of the wire protocol.
public enum ProtocolVersion {
    /// The version this build speaks and sends in `CLIENT_REGISTER`.
    public static let current = 1
    /// The versions a server of this build accepts.
    public static let supported: ClosedRange<Int> = 1...1
    /// A register without `protocol_version`: the envelope-only messaging client of the original
    /// design, named by `sender_id` (PROTOCOL.md §13). Admitted only under open enrollment or for a
    /// name in `agents.legacy_clients`.
    public static let legacy = 0
}
