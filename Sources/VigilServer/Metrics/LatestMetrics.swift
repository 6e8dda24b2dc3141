import Foundation
import Synchronization
import VigilMetrics

/// The newest sample of a host, as served by `/api/servers` and `/current`.
public struct LatestSample: Sendable, Equatable {
    public var document: MetricsDocument
    /// When the server took it (the document's own `timestamp` is the host's clock).
    public var receivedAt: Date

    public init(document: MetricsDocument, receivedAt: Date) {
        self.document = document
        self.receivedAt = receivedAt
    }
}

/// The latest-sample cache: one entry per host, in memory, so the hot reads (the fleet overview,
/// a host's current figures) never touch the database. Entries changed since the last persist are
/// written to the store periodically, so the cache survives a restart.
public final class LatestMetrics: Sendable {
    private struct State {
        var entries: [String: LatestSample] = [:]
        var dirty: Set<String> = []
    }

    private let state = Mutex(State())

    public init() {}

    func update(_ hostname: String, _ sample: LatestSample) {
        self.state.withLock { state in
            state.entries[hostname] = sample
            state.dirty.insert(hostname)
        }
    }

    /// A sample another member of the cluster accepted (its relay's copy): kept when newer than
    /// what is cached, not marked as changed (the member that took it persists it).
    func updateRemote(_ hostname: String, _ sample: LatestSample) {
        self.state.withLock { state in
            if let cached = state.entries[hostname], cached.receivedAt >= sample.receivedAt { return }
            state.entries[hostname] = sample
        }
    }

    /// Puts back what the store kept, without marking it as changed.
    func restore(_ samples: [String: LatestSample]) {
        self.state.withLock { state in
            for (hostname, sample) in samples where state.entries[hostname] == nil {
                state.entries[hostname] = sample
            }
        }
    }

    public func sample(for hostname: String) -> LatestSample? {
        self.state.withLock { $0.entries[hostname] }
    }

    /// Every host's latest sample (a copy-on-write snapshot: cheap to take).
    public func all() -> [String: LatestSample] {
        self.state.withLock { $0.entries }
    }

    /// The entries changed since the previous call.
    func takeChanged() -> [String: LatestSample] {
        self.state.withLock { state in
            var changed: [String: LatestSample] = [:]
            changed.reserveCapacity(state.dirty.count)
            for hostname in state.dirty { changed[hostname] = state.entries[hostname] }
            state.dirty.removeAll(keepingCapacity: true)
            return changed
        }
    }
}
