import ArgumentParser
import Foundation
import NIOCore
import NIOPosix

/// `vigil-bench files`: one large file through a real `vigil server`, next to a raw loopback TCP
/// copy of the same file into a file with fsync (issue 4).
struct FilesBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "files",
        abstract: "File transfer throughput against a raw loopback TCP copy into a file (the ratio), and the server's memory.",
        discussion: """
        Writes a file of `--size` MiB of pseudo-random bytes into a temporary directory, copies it \
        over loopback TCP into a file and fsyncs it (the baseline), then sends it to a fresh \
        `vigil server` with the file protocol (offer, binary data frames with backpressure, \
        server-side SHA-256 verification, fsync and atomic rename) and compares. The server's \
        resident memory is sampled during the transfer. Everything is deleted at the end.
        """
    )

    @Option(help: "File size in MiB.")
    var size = 1024

    @Option(help: "Transfers of the file (the best and the median are reported).")
    var runs = 3

    @Option(help: "Directory for the file and the copies (default: the temporary directory).")
    var directory: String?

    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard self.size >= 1, self.size <= 1 << 20, self.runs >= 1, self.runs <= 20 else {
            throw ValidationError("--size must be in 1...1048576 MiB and --runs in 1...20")
        }
    }

    func run() async throws {
        Cleanup.shared.installSignalHandlers()
        let progress = self.common.progressPrinter()
        let base = self.directory ?? NSTemporaryDirectory()
        var template = Array((base + "/vigil-bench-files.XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw BenchmarkError("cannot create a directory in \(base)") }
        let work = String(cString: made)
        Cleanup.shared.add(directory: work)
        defer {
            try? FileManager.default.removeItem(atPath: work)
            Cleanup.shared.remove(directory: work)
        }
        let source = work + "/payload.bin"
        let bytes = UInt64(self.size) << 20
        progress("writing \(self.size) MiB of pseudo-random bytes")
        try Self.writePseudoRandomFile(path: source, bytes: bytes)
        let hashWatch = Stopwatch()
        let sha256 = try FileSendClient.sha256(path: source)
        let hashSeconds = hashWatch.seconds

        var rawSeconds: [Double] = []
        for run in 1...self.runs {
            let copy = work + "/raw-copy.bin"
            rawSeconds.append(try RawCopy.run(source: source, destination: copy))
            try? FileManager.default.removeItem(atPath: copy)
            progress("raw copy \(run): \(String(format: "%.2f", rawSeconds.last!)) s")
        }

        let executable = self.common.executable
        let server = try await ServerProcess.start(executable: executable, environment: [
            "VIGIL_AGENTS_OPEN_ENROLLMENT": "true",
            "VIGIL_LOG_LEVEL": "warning",
            "VIGIL_FILES_MIN_FREE_DISK": "0",
        ], tls: self.common.tls)
        defer { server.removeDirectory() }
        var vigilSeconds: [Double] = []
        var readySeconds: [Double] = []
        var idleRSS: Int64 = 0
        var peakRSS: Int64 = 0
        var serverCPU = 0.0
        do {
            try await Task.sleep(for: .milliseconds(500))
            idleRSS = server.stats?.residentBytes ?? 0
            let client = FileSendClient(port: server.agentPort, group: MultiThreadedEventLoopGroup.singleton, tls: server.clientTLS)
            for run in 1...self.runs {
                let before = server.stats?.cpuSeconds ?? 0
                let sampler = Task {
                    var peak: Int64 = 0
                    while !Task.isCancelled {
                        peak = max(peak, server.stats?.residentBytes ?? 0)
                        try? await Task.sleep(for: .milliseconds(20))
                    }
                    return peak
                }
                let timing = try await client.send(path: source, size: bytes, sha256: sha256, as: "bench-files-\(run)", timeout: .seconds(3600))
                sampler.cancel()
                peakRSS = max(peakRSS, await sampler.value)
                guard timing.saved.sha256 == sha256, timing.saved.size == bytes else {
                    throw BenchmarkError("the server saved \(timing.saved.size) bytes with SHA-256 \(timing.saved.sha256); expected \(bytes) and \(sha256)")
                }
                vigilSeconds.append(timing.transferSeconds)
                readySeconds.append(timing.readySeconds)
                serverCPU += (server.stats?.cpuSeconds ?? 0) - before
                progress("vigil transfer \(run): \(String(format: "%.2f", timing.transferSeconds)) s")
            }
            _ = await server.stop()
        } catch {
            _ = await server.stop()
            throw error
        }
        let median = { (values: [Double]) in values.sorted()[values.count / 2] }
        let gb = Double(bytes) / 1e9
        let report = FilesReport(
            date: Date().formatted(.iso8601), load: .now(), bytes: bytes, runs: self.runs, sha256: sha256,
            senderHashSeconds: hashSeconds,
            rawBestSeconds: rawSeconds.min()!, rawMedianSeconds: median(rawSeconds),
            vigilBestSeconds: vigilSeconds.min()!, vigilMedianSeconds: median(vigilSeconds),
            rawBestGBPerSecond: gb / rawSeconds.min()!, vigilBestGBPerSecond: gb / vigilSeconds.min()!,
            ratioBest: rawSeconds.min()! / vigilSeconds.min()!, ratioMedian: median(rawSeconds) / median(vigilSeconds),
            offerToReadyMs: median(readySeconds) * 1000,
            serverIdleRSSMebibytes: Double(idleRSS) / 1_048_576, serverPeakRSSMebibytes: Double(peakRSS) / 1_048_576,
            serverCPUPercentOfOneCore: serverCPU / vigilSeconds.reduce(0, +) * 100)
        try self.common.print(report) { $0.table() }
    }

    /// Pseudo-random bytes (xorshift), so neither the disk nor anything on the way can compress them.
    static func writePseudoRandomFile(path: String, bytes: UInt64) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil), let handle = FileHandle(forWritingAtPath: path) else {
            throw BenchmarkError("cannot create \(path)")
        }
        defer { try? handle.close() }
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        var remaining = bytes
        var block = [UInt64](repeating: 0, count: 1 << 17)  // 1 MiB
        while remaining > 0 {
            for index in block.indices {
                state ^= state << 13
                state ^= state >> 7
                state ^= state << 17
                block[index] = state
            }
            let count = Int(min(remaining, UInt64(block.count * 8)))
            try block.withUnsafeBytes { try handle.write(contentsOf: Data($0.prefix(count))) }
            remaining -= UInt64(count)
        }
    }
}

struct FilesReport: Codable, Sendable {
    var date: String
    var load: MachineLoad
    var bytes: UInt64
    var runs: Int
    var sha256: String
    var senderHashSeconds: Double
    var rawBestSeconds: Double
    var rawMedianSeconds: Double
    var vigilBestSeconds: Double
    var vigilMedianSeconds: Double
    var rawBestGBPerSecond: Double
    var vigilBestGBPerSecond: Double
    /// Raw copy time over Vigil's time: 1.0 means as fast as the raw copy.
    var ratioBest: Double
    var ratioMedian: Double
    var offerToReadyMs: Double
    var serverIdleRSSMebibytes: Double
    var serverPeakRSSMebibytes: Double
    var serverCPUPercentOfOneCore: Double

    func table() -> String {
        var printer = ReportPrinter()
        printer.section("File transfer: \(Format.number(Double(self.bytes) / 1_048_576)) MiB, \(self.runs) run(s)")
        printer.row("raw loopback copy + fsync", String(format: "best %.2f s (%.2f GB/s), median %.2f s", self.rawBestSeconds, self.rawBestGBPerSecond, self.rawMedianSeconds))
        printer.row("vigil (offer → FILE_SAVED)", String(format: "best %.2f s (%.2f GB/s), median %.2f s", self.vigilBestSeconds, self.vigilBestGBPerSecond, self.vigilMedianSeconds))
        printer.row("ratio (raw / vigil)", String(format: "best %.0f %%, median %.0f %%", self.ratioBest * 100, self.ratioMedian * 100))
        printer.row("sender's SHA-256 before the offer", String(format: "%.2f s", self.senderHashSeconds))
        printer.row("offer → FILE_READY", Format.milliseconds(self.offerToReadyMs))
        printer.row("server RSS idle / peak", "\(Format.number(self.serverIdleRSSMebibytes, 1)) / \(Format.number(self.serverPeakRSSMebibytes, 1)) MiB")
        printer.row("server CPU during transfers", String(format: "%.0f %% of one core", self.serverCPUPercentOfOneCore))
        printer.row("machine load", String(format: "%.2f (%d cores)", self.load.loadAverage1m, self.load.cores))
        return printer.render()
    }
}
