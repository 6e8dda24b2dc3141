import Foundation
import Logging
import PostgresNIO
import Synchronization
import VigilStore

/// Metrics history on PostgreSQL, for several servers sharing one database: the behaviour of
/// ``SQLiteMetricsStore`` (compressed column blocks, minute and hour rollups computed as samples
/// arrive, idempotent by (host, millisecond), back-fill).
///
/// Back-fill (a sample older than its host's newest, e.g. a replayed spool): the host's stored
/// timestamps in the batch's span are read first (head rows, and block timestamps without their
/// values), so a sample already stored is skipped; the rest become raw head rows in their place in
/// time (blocks are cut from rows sorted by time, so a block may overlap older ones; reads sort).
/// The open bucket takes such a sample at once without changing `last`; a closed bucket is computed
/// again from all its raw rows right after the write and replaces the old row (in a head row, or
/// by writing its block again without it). It costs a read and a statement per host more than an
/// in-order append: back-fill is rare.
///
/// Storage: per level a head table (rows of open blocks) and a blocks table (``MetricsBlock``
/// payloads as `bytea`), range-partitioned on time (see ``MetricsTable`` and
/// ``PostgresMetricsOptions`` for the granularity) so retention drops whole partitions.
///
/// Writes: one append is one statement (data-modifying CTEs over `unnest`ed arrays), so one round
/// trip and one transaction, committed before it returns. When blocks fill, the same statement also
/// returns the rows to seal, and a second statement writes the blocks and deletes their head rows.
///
/// Several writers: nothing here assumes it is the only writer. Per-host state (open blocks, open
/// buckets) is a cache keyed by host and tagged with the host's `metrics_hosts.version`; every
/// statement claims the versions it planned from (compare-and-set) and fails as a whole when one
/// changed, after which the hosts are reloaded from the database and the write planned again. So
/// servers writing different hosts never wait for each other, and two writing the same host (a
/// failover) serialise on that host's row without losing or doubling a sample: head rows are keyed
/// by (host, time) and a sample not newer than the stored newest is dropped.
///
/// Reads need no cache: a rollup bucket still open is taken from this server's memory when it
/// is current, else computed from the raw rows, so every server answers the same.
public final class PostgresMetricsStore: MetricsStore {
    /// A rollup bucket this long past its end with no sample to close it is written by
    /// ``enforceRetention(now:)`` (as in ``SQLiteMetricsStore``).
    static let staleBucketGraceMs: Int64 = 3_600_000
    /// Times a write is planned again after another writer changed one of its hosts.
    static let maximumAttempts = 8

    let client: PostgresClient
    let logger: Logger
    let options: PostgresMetricsOptions
    /// The store whose pool this one uses, when ``connect(_:options:logger:)`` made it.
    private let ownedStore: PostgresStore?
    let hosts = Mutex<[String: PostgresMetricsHostState]>([:])
    let shapes = MetricsShapeRegistry()
    /// Partitions known to exist (made by this or another server).
    let partitions = Mutex<Set<MetricsPartition>>([])
    let rollupColumnNames = RollupColumnNameCache()

    /// A metrics store on the connection pool of a ``PostgresStore`` (whose connect migrated the
    /// schema, metrics tables included).
    public convenience init(store: PostgresStore, options: PostgresMetricsOptions = .init()) {
        self.init(client: store.client, logger: store.logger, options: options, ownedStore: nil)
    }

    private init(client: PostgresClient, logger: Logger, options: PostgresMetricsOptions, ownedStore: PostgresStore?) {
        let limits = 1...MetricsBlock.maximumRows
        precondition(options.blockRows.allSatisfy(limits.contains), "block rows out of range")
        precondition(options.maximumNewPartitionsPerAppend >= 1, "an append must be able to create a partition")
        self.client = client
        self.logger = logger
        self.options = options
        self.ownedStore = ownedStore
    }

    /// Connects its own pool (a ``PostgresStore``), migrating the schema, and opens the store on it.
    public static func connect(_ settings: PostgresStoreSettings, options: PostgresMetricsOptions = .init(), logger: Logger) async throws -> PostgresMetricsStore {
        let store = try await PostgresStore.connect(settings, logger: logger)
        return PostgresMetricsStore(client: store.client, logger: logger, options: options, ownedStore: store)
    }

    /// Ends the pool if ``connect(_:options:logger:)`` made it; a store on a shared pool leaves it.
    public func close() async {
        await self.ownedStore?.close()
    }

    // MARK: Writing

    @discardableResult
    public func append(_ samples: [MetricSample]) async throws -> Int {
        var order: [(ms: Int64, index: Int)] = []
        order.reserveCapacity(samples.count)
        for (index, sample) in samples.enumerated() where sample.isStorable {
            if let ms = MetricTime.milliseconds(sample.timestamp) { order.append((ms, index)) }
        }
        guard !order.isEmpty else { return 0 }
        order.sort { $0.ms != $1.ms ? $0.ms < $1.ms : $0.index < $1.index }
        order = try await self.withPartitions(for: order)
        guard !order.isEmpty else { return 0 }
        let hostnames = Set(order.map { samples[$0.index].hostname }).sorted()

        var attempt = 0
        while true {
            attempt += 1
            var states = try await self.states(of: hostnames)
            // Samples not newer than their host's newest are back-fill, unless already stored.
            var spans: [String: ClosedRange<Int64>] = [:]
            for entry in order {
                let hostname = samples[entry.index].hostname
                guard entry.ms <= states[hostname]!.newestRawMs else { continue }
                let span = spans[hostname]
                spans[hostname] = min(span?.lowerBound ?? entry.ms, entry.ms)...max(span?.upperBound ?? entry.ms, entry.ms)
            }
            var stored: Set<HostTime> = []
            var plan = PostgresMetricsPlan(blockRows: self.options.blockRows, shapes: self.shapes, columnNames: self.rollupColumnNames)
            var count = 0
            do {
                stored = try await self.storedTimes(spans)
                for entry in order {
                    let sample = samples[entry.index]
                    let key = HostTime(hostname: sample.hostname, ms: entry.ms)
                    if entry.ms > states[sample.hostname]!.newestRawMs {
                        if plan.append(sample, at: entry.ms, host: &states[sample.hostname]!) { count += 1 }
                    } else if !stored.contains(key) {
                        plan.backfill(sample, at: entry.ms, host: &states[sample.hostname]!)
                        count += 1
                    } else {
                        continue
                    }
                    stored.insert(key)
                }
                guard !plan.isEmpty else { return 0 }
                try await self.write(plan, states: &states)
            } catch let error where attempt < Self.maximumAttempts && self.isRetryable(error) {
                self.forget(hostnames)
                continue
            }
            if !plan.dirty.isEmpty {
                do {
                    try await self.recompute(plan.dirty, states: &states)
                } catch {
                    self.logger.warning("metrics rollup buckets not recomputed after back-fill", metadata: ["error": "\(String(reflecting: error))"])
                    self.forget(hostnames)
                }
            }
            return count
        }
    }

    /// Writes a plan (one statement), publishes the hosts' states, then seals what filled.
    func write(_ plan: PostgresMetricsPlan, states: inout [String: PostgresMetricsHostState]) async throws {
        try await self.ensure(plan.partitions(self.options))
        let sealRows = try await self.execute(plan, states: states)
        for hostname in states.keys { states[hostname]!.version += 1 }
        self.shapes.markStored(plan.newShapes.keys)
        self.publish(states)
        guard plan.sealing.contains(where: { !$0.isEmpty }) else { return }
        do {
            try await self.seal(plan, old: sealRows, states: &states)
        } catch {
            // The samples are committed; their rows stay in the head tables and the next write
            // of these hosts (after reloading them) seals them.
            self.logger.warning("metrics blocks not sealed yet", metadata: ["error": "\(String(reflecting: error))"])
            self.forget(Array(plan.sealing.joined()))
        }
    }

    /// Whether a failed statement may be planned again: another writer changed a host (our claim
    /// failed, or a deadlock or serialisation failure between claims), or a partition this process
    /// believed in was dropped by retention.
    func isRetryable(_ error: any Error) -> Bool {
        if error is PostgresMetricsConflict { return true }
        guard let error = error as? PSQLError, let state = error.serverInfo?[.sqlState] else { return false }
        switch state {
        case PostgresMetricsSchema.conflictState, "40001", "40P01":
            return true
        case "23514":  // no partition of relation found for row
            self.partitions.withLock { $0.removeAll() }
            return true
        default:
            return false
        }
    }

    /// Drops cached states (they are reloaded on next use).
    func forget(_ hostnames: [String]) {
        self.hosts.withLock { hosts in
            for hostname in hostnames { hosts[hostname] = nil }
        }
    }

    /// Publishes states written (or read) at their versions, keeping any newer one already published.
    func publish(_ states: [String: PostgresMetricsHostState]) {
        self.hosts.withLock { hosts in
            for (hostname, state) in states where (hosts[hostname]?.version ?? -1) <= state.version {
                hosts[hostname] = state
            }
        }
    }

    /// The cached states of these hosts, loading those not cached.
    func states(of hostnames: [String]) async throws -> [String: PostgresMetricsHostState] {
        var states: [String: PostgresMetricsHostState] = [:]
        let missing: [String] = self.hosts.withLock { hosts in
            var missing: [String] = []
            for hostname in hostnames {
                if let state = hosts[hostname] { states[hostname] = state } else { missing.append(hostname) }
            }
            return missing
        }
        guard !missing.isEmpty else { return states }
        let loaded = try await self.loadHosts(missing)
        self.publish(loaded)
        states.merge(loaded) { a, _ in a }
        return states
    }

    // MARK: Latest documents

    public func saveLatest(_ documents: [LatestDocument]) async throws {
        guard !documents.isEmpty else { return }
        // The last document of a host wins within one call, as in a sequence of upserts.
        var latest: [String: LatestDocument] = [:]
        for document in documents { latest[document.hostname] = document }
        let hostnames = latest.keys.sorted()
        let times = hostnames.map { latest[$0]!.timestamp }
        let json = hostnames.map { latest[$0]!.json.byteBuffer }
        try await self.client.query("""
            INSERT INTO metrics_latest(hostname, ts, json)
            SELECT * FROM unnest(\(hostnames)::text[], \(times)::double precision[], \(json)::bytea[])
            ON CONFLICT (hostname) DO UPDATE SET ts = excluded.ts, json = excluded.json
            """, logger: self.logger)
    }

    public func latestDocuments() async throws -> [LatestDocument] {
        var documents: [LatestDocument] = []
        let rows = try await self.client.query("SELECT hostname, ts, json FROM metrics_latest ORDER BY hostname COLLATE \"C\"", logger: self.logger)
        for try await (hostname, ts, json) in rows.decode((String, Double, ByteBuffer).self) {
            documents.append(LatestDocument(hostname: hostname, timestamp: ts, json: Array(json.readableBytesView)))
        }
        return documents
    }

    public func newestSampleTimes() async throws -> [String: Double] {
        var newest: [String: Double] = [:]
        let rows = try await self.client.query("SELECT hostname, newest_ms FROM metrics_hosts WHERE newest_ms > \(Int64.min)", logger: self.logger)
        for try await (hostname, ms) in rows.decode((String, Int64).self) {
            newest[hostname] = MetricTime.seconds(ms)
        }
        return newest
    }

    /// Nothing is held only in memory: every append is committed, and open buckets are rebuilt
    /// from raw rows by whichever server needs them.
    public func flush() async throws {}
}
