import Foundation

/// Sends backfilled samples from simulated agents as fast as the server takes them, with a
/// bounded amount in flight, and measures until everything is stored.
///
/// Samples go out in waves: sample k of every agent, then k+1, … (or `chunk` consecutive samples
/// per agent per wave, for a few agents with many samples). Before each wave the driver makes sure
/// that at most `window` samples are sent but not yet written, reading `accepted` and `pending`
/// from `GET /api/health`; this keeps the server's queue below `metrics.max_pending` (so nothing
/// is refused as `server_busy`) and the load generator's memory bounded.
struct IngestDriver {
    let fleet: AgentFleet
    let api: VigilAPI
    let server: ServerProcess
    /// Samples sent and not yet written, at most.
    let window: Int
    /// How often `/api/health` is read while waiting.
    let pollInterval: Duration
    /// The whole phase must finish within this.
    let timeout: Duration

    struct Result: Sendable {
        var samples: Int
        var bytesSent: Int
        /// From the first send until the server had taken every sample and its queue was empty
        /// (`accepted` = all, `pending` = 0): the last batch taken (at most `metrics.max_batch`
        /// samples) may still be in its write transaction at that moment.
        var secondsUntilQueued: Double
        /// From the first send until a read of `/api/storage` that *started* then counted every
        /// stored value (an upper bound: the read itself takes seconds on a large store).
        var secondsUntilStored: Double
        /// `raw.values` of `/api/storage` at the end of the phase.
        var storedRawValues: Int64
        /// Samples the server accepted but did not store (`raw.values` stayed short of what was sent).
        var samplesNotStored: Int
        var healthPolls: Int
        /// The server's and this process's CPU and memory when the queue became empty.
        var serverAtQueued: ProcessStats?
        var loadGeneratorAtQueued: ProcessStats
    }

    /// - Parameters:
    ///   - agents: Who sends.
    ///   - samplesPerAgent: How many samples each sends.
    ///   - startMs: Time of each agent's first sample; sample k is at `startMs + k × intervalMs`.
    ///   - chunk: Consecutive samples per agent per wave.
    ///   - seriesPerSample: Values each sample adds to `raw.values`.
    ///   - storedBefore: `raw.values` before the phase.
    func run(agents: [SimulatedAgent], samplesPerAgent: Int, startMs: Int64, intervalMs: Int64, chunk: Int,
             seriesPerSample: Int, storedBefore: Int64) async throws -> Result {
        let deadline = ContinuousClock.now + self.timeout
        let before = try await self.api.health().metrics
        guard before.pending == 0 else { throw BenchmarkError("the server has \(before.pending) samples pending before the phase starts") }
        let total = agents.count * samplesPerAgent
        var sent = 0
        var bytes = 0
        var polls = 0
        var written = 0
        let watch = Stopwatch()

        /// Reads the counters; fails on any refusal, a dead server or a closed agent connection.
        func poll() async throws -> VigilAPI.Health.Metrics {
            polls += 1
            try self.server.checkAlive()
            let metrics = try await self.api.health().metrics
            try self.checkClean(metrics, baseline: before)
            written = (metrics.accepted - before.accepted) - metrics.pending
            return metrics
        }

        var k = 0
        while k < samplesPerAgent {
            let count = min(chunk, samplesPerAgent - k)
            let wave = count * agents.count
            while sent - written + wave > max(self.window, wave) {
                guard ContinuousClock.now < deadline else {
                    throw BenchmarkError("ingest did not finish within \(self.timeout): \(sent) of \(total) samples sent, \(written) written")
                }
                try await Task.sleep(for: self.pollInterval)
                _ = try await poll()
            }
            bytes += try await self.fleet.send(agents, firstMs: startMs + Int64(k) * intervalMs, intervalMs: intervalMs, count: count)
            sent += wave
            k += count
        }

        // Everything sent: wait until the server took it all and its queue is empty.
        while true {
            let metrics = try await poll()
            if metrics.accepted - before.accepted >= total && metrics.pending == 0 { break }
            guard ContinuousClock.now < deadline else {
                throw BenchmarkError("ingest did not finish within \(self.timeout): accepted \(metrics.accepted - before.accepted) of \(total), \(metrics.pending) pending")
            }
            try await Task.sleep(for: self.pollInterval)
        }
        let queued = watch.seconds
        let serverAtQueued = self.server.stats
        let ownAtQueued = ProcessStats.current()
        let expected = storedBefore + Int64(total * seriesPerSample)
        let (stored, storedAt) = try await self.waitUntilStored(expected, deadline: deadline, watch: watch)
        let missingValues = expected - stored
        guard missingValues % Int64(seriesPerSample) == 0 else {
            throw BenchmarkError("/api/storage counts \(stored) raw values, \(missingValues) short of \(expected): not a whole number of samples")
        }
        return Result(samples: total, bytesSent: bytes, secondsUntilQueued: queued, secondsUntilStored: storedAt, storedRawValues: stored,
                      samplesNotStored: Int(missingValues / Int64(seriesPerSample)), healthPolls: polls,
                      serverAtQueued: serverAtQueued, loadGeneratorAtQueued: ownAtQueued)
    }

    /// Reads `/api/storage` until `raw.values` reaches `expected`, or stops growing while the
    /// server's queue stays empty (then samples were lost, which the caller reports).
    ///
    /// - Returns: The final count and the time (on `watch`) at which the read that first saw it started.
    func waitUntilStored(_ expected: Int64, deadline: ContinuousClock.Instant, watch: Stopwatch) async throws -> (values: Int64, at: Double) {
        var previous: (values: Int64, at: Double)?
        while true {
            let startedAt = watch.seconds
            let storage = try await self.api.storage()
            let values = storage.raw.values
            if values > expected {
                throw BenchmarkError("/api/storage counts \(values) raw values, more than the \(expected) sent")
            }
            if values == expected { return (values, startedAt) }
            if let previous, previous.values == values, watch.seconds - previous.at >= 2 {
                // No progress for 2 s or more with nothing queued: what is missing will not come.
                let pending = try await self.api.health().metrics.pending
                if pending == 0 { return previous }
            }
            if previous?.values != values { previous = (values, startedAt) }
            try self.server.checkAlive()
            guard ContinuousClock.now < deadline else {
                throw BenchmarkError("stored raw values stayed at \(values) of \(expected) expected")
            }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    /// Fails loudly on any refused sample or dropped agent connection.
    func checkClean(_ metrics: VigilAPI.Health.Metrics, baseline: VigilAPI.Health.Metrics) throws {
        let refused = metrics.refusedTotal - baseline.refusedTotal
        let counters = self.fleet.counters.snapshot
        if refused > 0 || !counters.refusals.isEmpty {
            throw BenchmarkError("the server refused samples: /api/health refused \(metrics.refused.filter { $0.value > 0 }), agents heard \(counters.refusals); first: \(counters.firstRefusal ?? "-")")
        }
        if counters.disconnects > 0 {
            throw BenchmarkError("\(counters.disconnects) agent connection(s) closed during ingest; first: \(counters.firstDisconnect ?? "-")")
        }
    }
}
