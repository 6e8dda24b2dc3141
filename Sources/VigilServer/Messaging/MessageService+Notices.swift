import Foundation
import VigilStore

extension MessageService {
    /// The liveness changes that become notices: the ones a person watching the fleet acts on.
    static let noticeStates: Set<LivenessState> = [.down, .recovered, .stopped]

    /// A liveness event (from the recorder, in order): for DOWN, RECOVERED and STOPPED, stores a
    /// notice from `server` (kind `notice`) for every client subscribed to notices, durable like
    /// any message.
    public func notify(of event: LivenessEvent) {
        guard Self.noticeStates.contains(event.to) else { return }
        let content = Self.noticeText(for: event)
        do {
            try self.queue.enqueue(.notice(content: content, at: event.at))
        } catch {
            // Only after shutdown began: the event itself is stored by the recorder.
            self.logger.notice("notice not sent: the message service has stopped", metadata: ["host": "\(event.hostname)", "to": "\(event.to.rawValue)"])
        }
    }

    /// `host web-1 is DOWN: no heartbeat for 42 s`.
    static func noticeText(for event: LivenessEvent) -> String {
        "host \(event.hostname) is \(event.to.rawValue): \(event.reason)"
    }
}
