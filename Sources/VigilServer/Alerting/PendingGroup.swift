import Foundation
import VigilAlerting
import VigilStore

/// One host's alerts waiting for their `group_wait` to end, so they go out as one notification.
struct PendingGroup: Sendable {
    struct Entry: Sendable {
        var alert: StoredAlert
        /// What to say: `firing` (new or repeated) or `resolved`.
        var status: AlertStatus
        var repeated: Bool
        /// For repeats, only the channels that are due; nil means every channel of its routes.
        var channels: Set<String>?
    }

    var deadline: Date
    /// By fingerprint: a later change of the same alert replaces the earlier one.
    var entries: [String: Entry] = [:]
}
