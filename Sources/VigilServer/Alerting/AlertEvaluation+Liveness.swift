import VigilAlerting
import VigilStore

extension AlertEvaluation {
    /// Takes a stored liveness transition: DOWN fires `host_down` at once, a return resolves it, a
    /// registration after a clean stop is an agent restart. SUSPECT changes nothing (not an alert).
    public func observe(_ event: LivenessEvent) {
        let presence: HostPresence
        switch event.to {
        case .connected: presence = .connected(afterCleanStop: event.from == .stopped)
        case .healthy, .recovered: presence = .up
        case .down: presence = .down(reason: event.reason)
        case .stopped: presence = .stopped
        case .suspect: return
        }
        self.presence(presence, of: event.hostname, at: event.at)
    }
}
