import Foundation
import Logging
import ServiceLifecycle
import VigilProtocol
import VigilStore

/// The single writer of liveness to the store: consumes the tracker's updates in order, logs each
/// transition at info level (DOWN at warning), and stores each as it comes (state changes are rare;
/// batching is for the load work, where registrations arrive by the thousand).
///
/// Being the only consumer keeps the store's view in the tracker's order without any locking here.
/// It ends when the update stream finishes, after writing everything, so a graceful shutdown
/// loses no event.
public struct LivenessRecorder: Service {
    let updates: AsyncStream<LivenessUpdate>
    let store: any VigilStore
    let logger: Logger
    /// Called with each transition after it is stored, in order (the message service turns some into notices).
    let onTransition: @Sendable (LivenessEvent) -> Void
    /// Called with each registration after it is stored, in order (a cluster member tells the others it holds the host).
    var onRegistration: @Sendable (_ hostname: String, _ at: Date) -> Void = { _, _ in }
    /// A full disk is reported there (logged once a minute), not once per failed write.
    var storage: StorageCondition? = nil

    public init(updates: AsyncStream<LivenessUpdate>, store: any VigilStore, logger: Logger, storage: StorageCondition? = nil, onTransition: @escaping @Sendable (LivenessEvent) -> Void = { _ in }) {
        self.storage = storage
        self.updates = updates
        self.store = store
        self.logger = logger
        self.onTransition = onTransition
    }

    public func run() async throws {
        // Deliberately not cancelled by graceful shutdown: it drains until the server finishes the stream.
        var batch: [LivenessEvent] = []
        for await update in self.updates {
            switch update {
            case .transition(let event):
                self.log(event)
                batch.append(event)
                await self.flush(&batch)
                self.onTransition(event)
            case .registered(let hostname, let info, let at):
                await self.flush(&batch)
                do {
                    try await self.store.recordRegistration(hostname: hostname, info: info, at: at)
                } catch where self.storage?.report(error, writing: "a registration") == true {
                    // The host is registered in memory; its record is written at its next registration.
                } catch {
                    self.logger.error("could not store registration", metadata: ["host": "\(hostname)", "error": "\(error)"])
                }
                self.onRegistration(hostname, at)
            }
        }
        await self.flush(&batch)
    }

    private func flush(_ batch: inout [LivenessEvent]) async {
        guard !batch.isEmpty else { return }
        do {
            try await self.store.append(events: batch)
        } catch where self.storage?.report(error, writing: "\(batch.count) liveness events") == true {
            // Dropped, as below; the condition logs them.
        } catch {
            self.logger.error("could not store liveness events", metadata: ["error": "\(error)", "count": "\(batch.count)"])
        }
        batch.removeAll(keepingCapacity: true)
    }

    private func log(_ event: LivenessEvent) {
        let metadata: Logger.Metadata = [
            "host": "\(event.hostname)",
            "from": "\(event.from?.rawValue ?? "-")",
            "to": "\(event.to.rawValue)",
            // The reason may quote a client's CLIENT_UNREGISTER reason.
            "reason": "\(event.reason.logEscaped)",
        ]
        let message: Logger.Message = event.to == .down ? "host DOWN" : event.to == .recovered ? "host RECOVERED" : "host state changed"
        self.logger.log(level: event.to == .down ? .warning : .info, message, metadata: metadata)
    }
}

extension VigilStore {
    /// Stores what a host told us at registration, keeping its state untouched (events own the state).
    func recordRegistration(hostname: String, info: RegistrationInfo, at: Date) async throws {
        let existing = try await self.agent(hostname: hostname)
        try await self.upsertAgent(AgentRecord(
            hostname: hostname,
            state: existing?.state ?? .connected,
            stateSince: existing?.stateSince ?? at,
            firstSeen: existing?.firstSeen ?? at,
            lastSeen: at,
            agentVersion: info.agentVersion,
            protocolVersion: info.protocolVersion,
            capabilities: info.capabilities,
            address: info.address
        ))
    }
}
