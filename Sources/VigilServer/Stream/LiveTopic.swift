/// What a stream client can subscribe to.
enum LiveTopic: Hashable, Sendable {
    /// Every host's summary, coalesced (`fleet`).
    case fleet
    /// One host's full samples as they arrive, and its liveness changes (`host:<name>`).
    case host(String)
    /// Every host's liveness changes (`events`).
    case events
    /// Messages to and from `server`, and broadcasts (`messages`): what the chat pane shows.
    case messages
    /// Alerts as they change (pending, firing, acknowledged, resolved) and notification deliveries (`alerts`).
    case alerts

    /// The longest host name a topic may carry (a DNS name's limit).
    static let maxHostnameBytes = 253

    /// Parses a topic as clients spell it; `nil` for anything else.
    init?(_ text: String) {
        switch text {
        case "fleet": self = .fleet
        case "events": self = .events
        case "messages": self = .messages
        case "alerts": self = .alerts
        default:
            guard text.hasPrefix("host:") else { return nil }
            let name = String(text.dropFirst(5))
            guard !name.isEmpty, name.utf8.count <= Self.maxHostnameBytes else { return nil }
            self = .host(name)
        }
    }

    /// The topic as clients spell it.
    var name: String {
        switch self {
        case .fleet: "fleet"
        case .events: "events"
        case .messages: "messages"
        case .alerts: "alerts"
        case .host(let name): "host:\(name)"
        }
    }
}
