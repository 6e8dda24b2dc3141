import Foundation
import VigilAPI
import VigilMetrics
import VigilStore

/// One thing a member tells the others over the relay: something it ingested or decided itself.
/// Receivers only show these (latest-sample cache, remote hosts, live stream); they store nothing
/// and judge nothing, the member that sent them has done both.
enum LiveRelayItem: Codable, Sendable, Equatable {
    /// A sample this member accepted (its process lists possibly cut to fit a payload).
    case sample(hostname: String, receivedAt: Date, document: MetricsDocument)
    /// A host registered with this member, which holds it from now on.
    case registered(status: AgentStatus)
    /// A liveness transition this member stored, with its view of the host after it; without one
    /// when no member holds the host (the leader declaring DOWN a host whose server died).
    case transition(event: LivenessEvent, status: AgentStatus?)
    /// A stored message the `messages` topic shows (to or from `server`, or a broadcast).
    case message(StoredMessage)
    /// An alert that changed, or a notification's delivery state (the `alerts` topic).
    case alert(StoredAlert)
    case notification(OutboxEntry)

    /// Items are JSON; dates as Unix seconds (exact, and shorter than ISO 8601).
    static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .secondsSince1970
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return encoder
    }

    static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .secondsSince1970
        return decoder
    }
}
