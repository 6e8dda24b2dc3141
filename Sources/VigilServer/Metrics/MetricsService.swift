import Foundation
import Logging
import ServiceLifecycle
import VigilMetrics
import VigilStore

/// Writes queued samples to the history store in batches, persists the latest-sample cache and
/// enforces retention, off the event loops. At shutdown it writes whatever is still queued.
public struct MetricsService: Service {
    let ingestor: MetricsIngestor
    let store: any MetricsStore
    let settings: ServerSettings
    let logger: Logger

    /// Whether this server leads its cluster: retention runs once per cluster, on the leader.
    let leader: LeaderGate

    public init(ingestor: MetricsIngestor, store: any MetricsStore, settings: ServerSettings, logger: Logger, leader: LeaderGate = LeaderGate()) {
        self.leader = leader
        self.ingestor = ingestor
        self.store = store
        self.settings = settings
        self.logger = logger
    }

    /// Loads the latest samples the store kept, so `/current` answers right after a restart.
    public func restore() async throws {
        let documents = try await self.store.latestDocuments()
        var samples: [String: LatestSample] = [:]
        var newest: [String: Double] = [:]
        let decoder = JSONDecoder()
        for stored in documents {
            guard let document = try? decoder.decode(MetricsDocument.self, from: Data(stored.json)) else {
                self.logger.warning("stored latest sample is unreadable; ignored", metadata: ["host": "\(stored.hostname)"])
                continue
            }
            samples[stored.hostname] = LatestSample(document: document, receivedAt: Date(timeIntervalSince1970: stored.timestamp))
            newest[stored.hostname] = document.timestamp.timeIntervalSince1970
        }
        // The history's own newest times too: a host killed within `liveness.persist_interval` of
        // its first sample has history but no saved latest document yet, and must still be known.
        for (hostname, timestamp) in try await self.store.newestSampleTimes() {
            newest[hostname] = max(newest[hostname] ?? -.infinity, timestamp)
        }
        self.ingestor.latest.restore(samples)
        self.ingestor.restoreNewest(newest)
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask { await self.writeLoop() }
                group.addTask { await self.every(self.settings.persistInterval) { await self.persistLatest() } }
                group.addTask { await self.every(self.settings.retentionCheckInterval) { await self.enforceRetention() } }
            }
        }
        // Shutting down: nothing accepted may be lost. When the server's task was cancelled (not a
        // signal), this task is cancelled too and the store's async calls would refuse to run, so
        // the last writes run in a task of their own, which the cancellation does not reach.
        await Task {
            while self.ingestor.pendingCount > 0 {
                guard await self.writeBatch() else { break }
            }
            await self.persistLatest()
            do {
                try await self.store.flush()
            } catch {
                self.logger.error("could not flush metrics history at shutdown", metadata: ["error": "\(error)"])
            }
        }.value
    }

    /// Writes whatever waits: at once when the writer has been idle for `metrics.commit_delay`,
    /// else once that long has passed since its previous write (or when a batch is full). What
    /// arrives meanwhile goes into the same transaction (group commit), so a busy server writes a
    /// few large transactions a second and a quiet one acknowledges a sample after one commit.
    ///
    /// One task writes, so batches reach the store in the order they were queued: the store takes a
    /// host's sample that is not newer than its newest as back-fill (history only, at a higher
    /// cost), so two writers racing would turn ordinary samples into back-fill.
    private func writeLoop() async {
        let delay = self.settings.metricsCommitDelay
        let clock = ContinuousClock()
        var lastWrite = clock.now - delay
        for await _ in self.ingestor.wakeups {
            while self.ingestor.pendingCount > 0 {
                // Busy (the previous write ended less than metrics.commit_delay ago): let the batch
                // gather until then, unless it is full already. Quiet: write at once, so a lone
                // sample is acknowledged after one commit. A cancelled sleep (shutdown) writes at once.
                let gather = lastWrite + delay
                if gather > clock.now, self.ingestor.pendingCount < self.settings.metricsMaxBatch {
                    try? await clock.sleep(until: gather)
                }
                let written = await self.writeBatch()
                lastWrite = clock.now
                guard written else { break }
            }
        }
    }

    /// Writes one batch, then tells each sample's sender.
    ///
    /// - Returns: `false` when the write failed: the senders of the batch and of everything queued
    ///   behind it are told so (HTTP 503, a refusal on the agent's connection), nothing of it was
    ///   acknowledged, and their hosts may send those samples again (``MetricsIngestor/forget(_:)``).
    @discardableResult
    func writeBatch() async -> Bool {
        let batch = self.ingestor.takeBatch()
        guard !batch.isEmpty else { return true }
        let samples = batch.map(\.sample)
        // In a task of its own: at shutdown the service's task is cancelled, and GRDB refuses to
        // start work in a cancelled task; what was accepted must still be written.
        let store = self.store
        let result = await Task { try await store.append(samples) }.result
        switch result {
        case .success(let stored):
            if stored < batch.count {
                // Samples whose (host, timestamp) is stored already: a replay or a resend after a
                // lost acknowledgement. Acknowledged all the same: the sample is on disk.
                self.logger.debug("metrics history already held some samples of the batch", metadata: ["written": "\(batch.count)", "stored": "\(stored)"])
            }
            self.ingestor.serverMetrics?.samplesStored(stored)
            for queued in batch { queued.onStored?(.success(())) }
            return true
        case .failure(let error):
            // Nothing of the batch was acknowledged: its senders hear of the failure and send again.
            // What queued behind it is refused too: it would most likely fail the same way, and
            // left queued it would wait for a new sample to wake the writer, which a full disk
            // refuses (its HTTP senders would hang, its agents hear nothing).
            let failed = batch + self.ingestor.takeAll()
            self.ingestor.forget(failed.map(\.sample))
            for queued in failed { queued.onStored?(.failure(error)) }
            // A full disk is logged by the storage condition, once a minute.
            if self.ingestor.storage?.report(error, writing: "metrics history (\(failed.count) samples refused)") == true { return false }
            self.logger.error("could not write metrics history; the senders are told", metadata: ["samples": "\(failed.count)", "error": "\(error)"])
            return false
        }
    }

    private func persistLatest() async {
        let changed = self.ingestor.latest.takeChanged()
        guard !changed.isEmpty else { return }
        let encoder = JSONEncoder()
        let documents = changed.compactMap { hostname, sample -> LatestDocument? in
            guard let json = try? encoder.encode(sample.document) else { return nil }
            return LatestDocument(hostname: hostname, timestamp: sample.receivedAt.timeIntervalSince1970, json: Array(json))
        }
        do {
            try await self.store.saveLatest(documents)
        } catch where self.ingestor.storage?.report(error, writing: "the latest samples") == true {
            // Logged by the condition, once a minute; saved again at the next change.
        } catch {
            self.logger.warning("could not persist latest samples", metadata: ["hosts": "\(documents.count)", "error": "\(error)"])
        }
    }

    private func enforceRetention() async {
        guard self.leader.isLeader else { return }
        do {
            let result = try await self.store.enforceRetention(now: Date().timeIntervalSince1970)
            if result.deletedBlocks > 0 {
                self.logger.info("retention: deleted expired history", metadata: ["blocks": "\(result.deletedBlocks)"])
            }
        } catch {
            self.logger.warning("retention pass failed", metadata: ["error": "\(error)"])
        }
    }

    /// Runs `body` every `interval` until the task is cancelled.
    private func every(_ interval: Duration, _ body: () async -> Void) async {
        while !Task.isCancelled {
            do { try await Task.sleep(for: interval) } catch { return }
            await body()
        }
    }
}
