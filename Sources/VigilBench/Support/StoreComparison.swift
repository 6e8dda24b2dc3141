import Foundation
import Logging
import VigilLocalPostgres
import VigilMetrics
import VigilPostgres
import VigilStore

/// `vigil-bench history`'s store comparison: the same samples appended straight into the two
/// metrics stores in this process, `SQLiteMetricsStore` (a temporary directory) and
/// `PostgresMetricsStore` (a throwaway PostgreSQL server with fsync, synchronous commit and full
/// page writes on, as in production), then the same queries timed on both.
///
/// Samples are the simulated hosts' documents flattened as the server flattens them, sent in waves
/// (every host's next sample) cut into appends of `batch` samples, as the server's history writer
/// sends its batches. Only the appends are timed, not making the samples; the two stores take
/// turns wave by wave, so a busy moment of the machine hits both.
struct StoreComparison {
    struct QueryLatency: Codable, Sendable {
        var requests: Int
        var points: Int
        var p50Ms: Double
        var p99Ms: Double
        var maxMs: Double
    }

    struct Side: Codable, Sendable {
        var store: String
        var samples: Int
        var values: Int
        var appends: Int
        var seconds: Double
        var samplesPerSecond: Double
        var valuesPerSecond: Double
        var appendP50Ms: Double
        var appendP99Ms: Double
        var storedRawValues: Int64
        var storageBytes: Int64
        var latency: [String: QueryLatency]
    }

    struct Report: Codable, Sendable {
        var date: String
        var hosts: Int
        var samplesPerHost: Int
        var seriesPerSample: Int
        var batch: Int
        var sides: [Side]
        /// Why there is no PostgreSQL side (not installed), if there is none.
        var postgresSkipped: String?
    }

    let hosts: Int
    let samplesPerHost: Int
    let interval: Int
    let batch: Int
    let requests: Int

    /// A store under measurement.
    private final class Subject {
        let name: String
        let store: any MetricsStore
        var seconds: Double = 0
        var appends: [Double] = []
        var stored = 0

        init(name: String, store: any MetricsStore) {
            self.name = name
            self.store = store
        }
    }

    func run(progress: (String) -> Void) async throws -> Report {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-bench-stores-\(UUID().uuidString.lowercased())")
        defer { try? FileManager.default.removeItem(at: directory) }
        var subjects = [Subject(name: "sqlite", store: try SQLiteMetricsStore(directory: directory))]
        var server: LocalPostgres?
        var postgres: PostgresMetricsStore?
        var skipped: String?
        if LocalPostgres.isAvailable {
            progress("stores: starting PostgreSQL (durable: fsync and synchronous commit on)")
            let started = try await LocalPostgres.start(durable: true)
            server = started
            do {
                try await started.createDatabase("vigil_bench")
                var settings = try PostgresStoreSettings(url: started.url(database: "vigil_bench"))
                settings.tls = .disable
                var logger = Logger(label: "vigil.bench.postgres")
                logger.logLevel = .warning
                let store = try await PostgresMetricsStore.connect(settings, logger: logger)
                postgres = store
                subjects.append(Subject(name: "postgres", store: store))
            } catch {
                await started.stop()
                throw error
            }
        } else {
            skipped = "PostgreSQL is not installed (no initdb/pg_ctl): SQLite side only"
            progress("stores: WARNING \(skipped!)")
        }
        do {
            let report = try await self.measure(subjects, progress: progress, skipped: skipped)
            await postgres?.close()
            await server?.stop()
            return report
        } catch {
            await postgres?.close()
            await server?.stop()
            throw error
        }
    }

    private func measure(_ subjects: [Subject], progress: (String) -> Void, skipped: String?) async throws -> Report {
        let intervalMs = Int64(self.interval) * 1000
        let nowMs = Int64(Date().timeIntervalSince1970) * 1000
        let startMs = nowMs - Int64(self.samplesPerHost) * intervalMs
        var simulators = (0..<self.hosts).map { HostSimulator(seed: UInt64($0 + 1), startMs: startMs) }
        let hostnames = (0..<self.hosts).map { String(format: "store-%05d", $0 + 1) }
        var sharedNames: [String] = []
        var series = 0
        progress("stores: \(self.hosts) hosts × \(self.samplesPerHost) samples into \(subjects.map(\.name).joined(separator: " and ")), \(self.batch) samples per append")
        for wave in 0..<self.samplesPerHost {
            let ms = startMs + Int64(wave) * intervalMs
            var samples: [MetricSample] = []
            samples.reserveCapacity(self.hosts)
            for index in 0..<self.hosts {
                let flat = simulators[index].document(hostname: hostnames[index], timestampMs: ms).series()
                var names = flat.map(\.name)
                if names == sharedNames { names = sharedNames } else { sharedNames = names }  // one array for every host, as the server's decoder shares them
                series = names.count
                samples.append(MetricSample(hostname: hostnames[index], timestamp: Double(ms) / 1000, names: names, values: flat.map(\.value)))
                simulators[index].advance(seconds: Double(self.interval))
            }
            for subject in subjects {
                for start in stride(from: 0, to: samples.count, by: self.batch) {
                    let chunk = Array(samples[start..<min(start + self.batch, samples.count)])
                    let watch = ContinuousClock.now
                    subject.stored += try await subject.store.append(chunk)
                    let seconds = Self.seconds(ContinuousClock.now - watch)
                    subject.seconds += seconds
                    subject.appends.append(seconds)
                }
            }
            if (wave + 1) % max(1, self.samplesPerHost / 10) == 0 {
                progress("stores: wave \(wave + 1)/\(self.samplesPerHost): " + subjects.map { String(format: "%@ %.0f samples/s", $0.name, Double($0.stored) / max($0.seconds, 1e-9)) }.joined(separator: ", "))
            }
        }

        let total = self.hosts * self.samplesPerHost
        let query = sharedNames.first { $0.hasPrefix("cpu.") } ?? sharedNames.first ?? "cpu"
        let nowSeconds = Double(nowMs) / 1000
        let queries: [(key: String, from: Double, resolution: MetricResolution)] = [
            ("points_1h_raw", nowSeconds - 3600, .raw),
            ("points_all_1m", 0, .minute),
            ("points_all_1h", 0, .hour),
        ]
        var sides: [Side] = []
        for subject in subjects {
            guard subject.stored == total else {
                throw BenchmarkError("\(subject.name) stored \(subject.stored) of \(total) samples")
            }
            var latency: [String: QueryLatency] = [:]
            for (key, from, resolution) in queries {
                var times: [Double] = []
                var points = 0
                for request in 0..<(self.requests + 5) {
                    let hostname = hostnames[request % hostnames.count]
                    let watch = ContinuousClock.now
                    points = try await subject.store.points(hostname: hostname, series: query, from: from, to: nowSeconds, resolution: resolution).count
                    if request >= 5 { times.append(Self.seconds(ContinuousClock.now - watch)) }
                }
                latency[key] = QueryLatency(requests: self.requests, points: points, p50Ms: Self.percentile(times, 50) * 1000,
                                            p99Ms: Self.percentile(times, 99) * 1000, maxMs: (times.max() ?? 0) * 1000)
            }
            let statistics = try await subject.store.statistics()
            sides.append(Side(
                store: subject.name, samples: total, values: total * series, appends: subject.appends.count, seconds: subject.seconds,
                samplesPerSecond: Double(total) / subject.seconds, valuesPerSecond: Double(total * series) / subject.seconds,
                appendP50Ms: Self.percentile(subject.appends, 50) * 1000, appendP99Ms: Self.percentile(subject.appends, 99) * 1000,
                storedRawValues: statistics.raw.values, storageBytes: statistics.fileBytes, latency: latency))
            progress("stores: \(subject.name): \(Format.number(Double(total) / subject.seconds)) samples/s, \(Format.number(Double(total * series) / subject.seconds)) values/s")
        }
        return Report(date: ISO8601DateFormatter().string(from: Date()), hosts: self.hosts, samplesPerHost: self.samplesPerHost,
                      seriesPerSample: series, batch: self.batch, sides: sides, postgresSkipped: skipped)
    }

    static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    static func percentile(_ values: [Double], _ percent: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * percent / 100).rounded()))]
    }
}

extension StoreComparison.Report {
    /// Adds the comparison's rows to a report.
    func print(into p: inout ReportPrinter) {
        p.section("metrics stores in process (\(Format.number(self.hosts)) hosts × \(self.samplesPerHost) samples, \(self.seriesPerSample) series, \(Format.number(self.batch)) per append)")
        if let skipped = self.postgresSkipped { p.row("postgres", "SKIPPED: \(skipped)") }
        for side in self.sides {
            p.row("\(side.store) ingest", "\(Format.number(side.samplesPerSecond)) samples/s, \(Format.number(side.valuesPerSecond)) values/s (\(String(format: "%.2f", side.seconds)) s in \(side.appends) appends)")
            p.row("\(side.store) append", String(format: "p50 %.2f ms, p99 %.2f ms", side.appendP50Ms, side.appendP99Ms))
            p.row("\(side.store) storage", "\(Format.number(side.storedRawValues)) raw values, \(Format.mebibytes(side.storageBytes))")
            for key in side.latency.keys.sorted() {
                let l = side.latency[key]!
                p.row("\(side.store) \(key)", String(format: "p50 %.2f ms, p99 %.2f ms, max %.2f ms (n=%d, %d points)", l.p50Ms, l.p99Ms, l.maxMs, l.requests, l.points))
            }
        }
    }

    func table() -> String {
        var p = ReportPrinter()
        p.section("setup")
        p.row("date", self.date)
        self.print(into: &p)
        return p.render()
    }
}
