import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import VigilStore

/// Drives the tracker's clock: checks every host's deadlines each `liveness.check_interval` and
/// flushes last-seen times to the store each `liveness.persist_interval`.
public struct LivenessMonitor: Service {
    let tracker: LivenessTracker
    let store: any VigilStore
    let checkInterval: Duration
    let persistInterval: Duration
    let logger: Logger
    /// A full disk is reported there (logged once a minute): last-seen times are best effort.
    var storage: StorageCondition? = nil

    public init(tracker: LivenessTracker, store: any VigilStore, checkInterval: Duration, persistInterval: Duration, storage: StorageCondition? = nil, logger: Logger) {
        self.storage = storage
        self.tracker = tracker
        self.store = store
        self.checkInterval = checkInterval
        self.persistInterval = persistInterval
        self.logger = logger
    }

    public func run() async throws {
        var lastPersist = ContinuousClock.now
        let clock = ContinuousClock()
        var next = clock.now
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            next = next.advanced(by: self.checkInterval)
            // Sleep to an absolute deadline so the check rate does not drift with the work done.
            try? await gracefulShutdown(orSleepUntil: next, clock: clock)
            self.tracker.sweep(now: .now(), wallNow: Date())
            if clock.now - lastPersist >= self.persistInterval {
                lastPersist = clock.now
                await self.persistLastSeen()
            }
        }
        await self.persistLastSeen()
    }

    private func persistLastSeen() async {
        let changed = self.tracker.takeChangedLastSeen()
        do {
            try await self.store.updateLastSeen(changed)
        } catch where self.storage?.report(error, writing: "last-seen times") == true {
            // Best effort: the tracker has them in memory, and the next write carries newer ones.
        } catch {
            self.logger.error("could not store last-seen times", metadata: ["error": "\(error)", "count": "\(changed.count)"])
        }
    }
}

/// Sleeps until `deadline`, returning early when graceful shutdown begins.
private func gracefulShutdown(orSleepUntil deadline: ContinuousClock.Instant, clock: ContinuousClock) async throws {
    try await cancelWhenGracefulShutdown {
        try await Task.sleep(until: deadline, clock: clock)
    }
}
