import ArgumentParser

/// `vigil-bench`: benchmarks that run a real `vigil server` under load from simulated agents.
/// One subcommand per scenario (one file each); shared machinery is in Support/.
/// The figures, with the commands that produced them, are in docs/PERFORMANCE.md.
@main
struct VigilBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vigil-bench",
        abstract: "Benchmarks against a real vigil server (not tests: they report figures).",
        subcommands: [HistoryBenchmark.self, MessagesBenchmark.self, FilesBenchmark.self, ConnectionsBenchmark.self, DetectBenchmark.self, IngestBenchmark.self, AlertsBenchmark.self, HTTPBenchmark.self, DashboardBenchmark.self, StreamBenchmark.self, ExpositionBenchmark.self, ClusterBenchmark.self, ClusterIngestBenchmark.self]
    )
}
