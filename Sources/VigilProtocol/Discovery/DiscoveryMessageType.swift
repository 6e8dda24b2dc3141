/// The `type` of a discovery datagram (PROTOCOL.md §14). These travel only over UDP, never on the
/// TCP connection, so they are not ``MessageType``s: a TCP peer that sends one gets `unknown_type`
/// as before.
public enum DiscoveryMessageType: String, Sendable, CaseIterable, Codable {
    /// Client → the discovery group (multicast), a broadcast address or one server: which server should I use?
    case serverDiscovery = "SERVER_DISCOVERY"
    /// The cluster's leader → the asking client (unicast): connect to this member.
    case serverAnnounce = "SERVER_ANNOUNCE"
}
