import Foundation
import Synchronization
import VigilAlerting
import VigilServer

/// A channel inside the test process that records what it is given and answers as told: the
/// dispatcher's behaviour (grouping, repeats, retries, deadlines) is tested against it; the real
/// channels (webhook, Alertmanager, SMTP) have their own tests against real receivers.
final class RecordingChannel: NotificationChannel, Sendable {
    enum Behaviour: Sendable {
        case accept
        case fail(DeliveryFailure)
        /// Never answers (until cancelled).
        case hang
        /// Fails this many attempts with a transient error, then accepts.
        case failFirst(Int)
    }

    let name: String
    let kind: String
    private let state: Mutex<(behaviour: Behaviour, received: [(AlertNotification, Int)], calls: Int)>

    init(name: String, kind: String = "webhook", behaviour: Behaviour = .accept) {
        self.name = name
        self.kind = kind
        self.state = Mutex((behaviour, [], 0))
    }

    var delivered: [AlertNotification] { self.state.withLock { $0.received.map(\.0) } }
    var attempts: [Int] { self.state.withLock { $0.received.map(\.1) } }
    var calls: Int { self.state.withLock { $0.calls } }

    func set(_ behaviour: Behaviour) { self.state.withLock { $0.behaviour = behaviour } }

    func deliver(_ notification: AlertNotification, attempt: Int) async throws(DeliveryFailure) {
        let behaviour = self.state.withLock { state -> Behaviour in
            state.calls += 1
            return state.behaviour
        }
        switch behaviour {
        case .accept:
            self.state.withLock { $0.received.append((notification, attempt)) }
        case .fail(let failure):
            throw failure
        case .hang:
            try? await Task.sleep(for: .seconds(3600))
            throw .transient("cancelled")
        case .failFirst(let count):
            if attempt <= count { throw .transient("HTTP 500 (test)") }
            self.state.withLock { $0.received.append((notification, attempt)) }
        }
    }

    func shutdown() async {}
}

/// Hands the server the test's channel objects, by the names the alerting file declares.
struct RecordingChannels: NotificationChannelFactory {
    let channels: [RecordingChannel]

    func makeChannels(from json: Data) throws -> [any NotificationChannel] {
        let declared = (try JSONSerialization.jsonObject(with: json) as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
        return self.channels.filter { declared.contains($0.name) }
    }
}
