import Foundation
import VigilMetrics
import VigilStore

/// Something the server publishes to the live stream, as the ingest, liveness and message paths
/// hand it over (not yet encoded: the hub encodes each item once, off their threads).
enum LiveItem: Sendable {
    /// An accepted sample.
    case sample(hostname: String, receivedAt: Date, document: MetricsDocument)
    /// A liveness transition, after the recorder stored it.
    case transition(LivenessEvent)
    /// A stored message to or from `server`, or a broadcast.
    case message(StoredMessage)
    /// An alert that changed (stored), or a notification's delivery state.
    case alert(StoredAlert)
    case notification(OutboxEntry)
    /// A host's summary changed without a transition (another member took it over): into the next fleet message.
    case hostChanged(String)
}
