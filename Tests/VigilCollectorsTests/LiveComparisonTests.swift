import Foundation
import Testing
import VigilMetrics
@testable import VigilCollectors

/// The collectors against the tools a person would check them with, on this machine.
/// "Within 1 %" is 1 % of the total: used and free move between two readings taken a moment apart.
@Suite("Live comparison with free and df", .serialized)
struct LiveComparisonTests {
    static func run(_ command: String, _ arguments: [String]) -> String? {
        guard let path = ["/usr/bin/", "/bin/"].map({ $0 + command }).first(where: FileManager.default.isExecutableFile(atPath:)) else { return nil }
        let process = Process()
        let pipe = Pipe()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.standardOutput = pipe
        guard (try? process.run()) != nil else { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return process.terminationStatus == 0 ? String(decoding: data, as: UTF8.self) : nil
    }

    static func within(_ a: UInt64, _ b: UInt64, onePercentOf total: UInt64) -> Bool {
        let difference = a > b ? a - b : b - a
        return Double(difference) <= Double(total) / 100
    }

    @Test("memory matches free -b", .enabled(if: run("free", ["-b"]) != nil, "free(1) is not installed"))
    func memory() throws {
        let output = try #require(Self.run("free", ["-b"]))
        var collector = MemoryCollector()
        var document = MetricsDocument(timestamp: Date())
        try collector.collect(into: &document, elapsed: nil)
        let memory = try #require(document.memory)
        let lines = output.split(separator: "\n")
        let mem = try #require(lines.first { $0.hasPrefix("Mem:") }).split(separator: " ").dropFirst().compactMap { UInt64($0) }
        let swap = try #require(lines.first { $0.hasPrefix("Swap:") }).split(separator: " ").dropFirst().compactMap { UInt64($0) }
        // free -b: total used free shared buff/cache available
        #expect(memory.memoryTotal == mem[0])
        #expect(Self.within(memory.memoryUsed, mem[1], onePercentOf: mem[0]), "used \(memory.memoryUsed) vs free's \(mem[1])")
        #expect(Self.within(memory.memoryFree, mem[2], onePercentOf: mem[0]), "free \(memory.memoryFree) vs \(mem[2])")
        #expect(Self.within(memory.memoryAvailable, mem[5], onePercentOf: mem[0]), "available \(memory.memoryAvailable) vs \(mem[5])")
        #expect(memory.swapTotal == swap[0])
        #expect(Self.within(memory.swapUsed, swap[1], onePercentOf: max(swap[0], 1)))
    }

    @Test("filesystems match df -B1", .enabled(if: run("df", ["-B1"]) != nil, "df(1) is not installed"))
    func filesystems() throws {
        let output = try #require(Self.run("df", ["-B1", "--output=target,size,used,avail"]))
        var collector = FilesystemCollector()
        var document = MetricsDocument(timestamp: Date())
        try collector.collect(into: &document, elapsed: nil)
        let partitions = try #require(document.disk?.partitions)
        var compared = 0
        for line in output.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ")
            guard fields.count == 4, let size = UInt64(fields[1]), let used = UInt64(fields[2]), let available = UInt64(fields[3]),
                  let ours = partitions.first(where: { $0.mountpoint == String(fields[0]) }) else { continue }
            compared += 1
            #expect(ours.total == size, "\(fields[0]) total")
            #expect(Self.within(ours.used, used, onePercentOf: size), "\(fields[0]) used \(ours.used) vs df's \(used)")
            #expect(Self.within(ours.free, available, onePercentOf: size), "\(fields[0]) free \(ours.free) vs df's \(available)")
        }
        #expect(compared > 0, "at least the root filesystem is compared")
        #expect(partitions.contains { $0.mountpoint == "/" })
    }
}
