import Foundation
import Testing
import VigilAPI
import VigilMetrics
import VigilStore
@testable import VigilServer

/// The relay's payloads: under the byte limit, several items each, in order, numbered, tagged
/// with their origin; oversized samples cut, other oversized items skipped and counted.
@Suite("Live relay batching")
struct LiveRelayBatcherTests {
    static let at = Date(timeIntervalSince1970: 1_800_000_000.25)

    static func sample(_ host: String, processes: Int = 0, cpu: Double = 12.5) -> LiveRelayItem {
        var document = MetricsDocument(hostname: host, timestamp: Self.at)
        document.cpu = .init(cpuPercentTotal: cpu, cpuPercentPerCore: [cpu, cpu], cpuCountLogical: 2, loadAverage: [0.1, 0.2, 0.3])
        document.memory = .init(memoryTotal: 1000, memoryAvailable: 600, memoryUsed: 400, memoryFree: 500, memoryPercent: 40, swapTotal: 0, swapUsed: 0, swapFree: 0, swapPercent: 0)
        if processes > 0 {
            let list = (0..<processes).map { MetricsDocument.Processes.Process(pid: $0 + 1, name: "process-with-a-long-name-\($0)", user: "someone", cpuPercent: Double(processes - $0), rss: UInt64($0) * 4096) }
            document.processes = .init(total: processes, topCPU: list, topMemory: list.reversed())
        }
        return .sample(hostname: host, receivedAt: Self.at, document: document)
    }

    static func decodeAll(_ payloads: [String], by member: String = "member-b") -> [LiveRelayPayload] {
        payloads.compactMap { LiveRelayPayload.decode($0, receivedBy: member) }
    }

    @Test("many items: every payload under the limit, several items in each, all back in order, numbered from 1")
    func payloadLimit() throws {
        var batcher = LiveRelayBatcher(origin: "member-a", limit: 2000)
        let items = (0..<300).map { Self.sample("host-\($0)", cpu: Double($0)) }
        for item in items { #expect(batcher.add(item) == .added) }
        let payloads = batcher.take()
        #expect(payloads.count > 1)
        #expect(payloads.allSatisfy { $0.utf8.count <= 2000 }, "\(payloads.map(\.utf8.count).max() ?? 0)")
        let decoded = Self.decodeAll(payloads)
        #expect(decoded.count == payloads.count)
        #expect(decoded.map(\.seq) == Array(1...UInt64(payloads.count)))
        #expect(decoded.allSatisfy { $0.origin == "member-a" && $0.items.count > 1 })
        #expect(decoded.flatMap(\.items) == items)
        // Nothing left over; the next payload carries on the numbering.
        #expect(batcher.take().isEmpty)
        batcher.add(Self.sample("late"))
        #expect(Self.decodeAll(batcher.take()).map(\.seq) == [UInt64(payloads.count + 1)])
    }

    @Test("the default limit stays under PostgreSQL's 8000 bytes; every kind of item survives the trip")
    func everyKind() throws {
        var batcher = LiveRelayBatcher(origin: "member-a", limit: LiveRelaySettings().payloadBytes)
        let status = AgentStatus(hostname: "web1", state: .healthy, stateSince: Self.at, lastSeen: Self.at, connected: true, address: "10.0.0.1:5000", agentVersion: "vigil-agent/0.1.0", phi: nil)
        let event = LivenessEvent(id: 7, hostname: "web1", from: .healthy, to: .suspect, reason: "connection lost", at: Self.at)
        let items: [LiveRelayItem] = [
            Self.sample("web1"),
            .registered(status: status),
            .transition(event: event, status: status),
            .transition(event: event, status: nil),
            .message(StoredMessage(id: 3, messageID: "m-1", sender: "alice", recipient: nil, content: "hello, ünïcode ✓", storedAt: Self.at)),
        ]
        for item in items { batcher.add(item) }
        let payloads = batcher.take()
        #expect(payloads.count == 1)
        #expect(payloads[0].utf8.count < 8000)
        #expect(Self.decodeAll(payloads).first?.items == items)
    }

    @Test("a server skips its own payloads and counts the ones it missed from another member")
    func originAndGaps() {
        var batcher = LiveRelayBatcher(origin: "member-a", limit: 2000)
        batcher.add(Self.sample("web1"))
        let payload = batcher.take()[0]
        #expect(LiveRelayPayload.decode(payload, receivedBy: "member-a") == nil)
        #expect(LiveRelayPayload.decode(payload, receivedBy: "member-b")?.origin == "member-a")
        #expect(LiveRelayPayload.decode("not json", receivedBy: "member-b") == nil)
        #expect(LiveRelayPayload.decode(#"{"origin":"member-c","seq":1,"items":[{"future_kind":{}}]}"#, receivedBy: "member-b")?.items.isEmpty == true)
        #expect(LiveRelayPayload.missed(after: nil, seq: 5) == 0)
        #expect(LiveRelayPayload.missed(after: 4, seq: 5) == 0)
        #expect(LiveRelayPayload.missed(after: 4, seq: 8) == 3)
        #expect(LiveRelayPayload.missed(after: 40, seq: 1) == 0)  // the member restarted
    }

    @Test("a sample too large for a payload has its process lists halved (tops kept) until it fits; one too large without them is skipped and counted")
    func trimming() throws {
        var batcher = LiveRelayBatcher(origin: "member-a", limit: 4000)
        let big = Self.sample("busy", processes: 400)
        #expect(batcher.add(Self.sample("small")) == .added)
        #expect(batcher.add(big) == .trimmed)
        let payloads = batcher.take()
        #expect(payloads.allSatisfy { $0.utf8.count <= 4000 })
        let items = Self.decodeAll(payloads).flatMap(\.items)
        #expect(items.count == 2)
        guard case .sample(let host, _, let document) = items.last, case .sample(_, _, let original) = big else {
            Issue.record("no sample: \(items)")
            return
        }
        #expect(host == "busy")
        let kept = try #require(document.processes)
        #expect(kept.total == 400)
        #expect(!kept.topCPU.isEmpty && kept.topCPU.count < 400)
        #expect(kept.topCPU == Array(original.processes!.topCPU.prefix(kept.topCPU.count)))
        #expect(document.cpu == original.cpu)
        #expect(batcher.trimmed == 1 && batcher.skipped == 0)

        // Without processes still too large (a thousand filesystems), and a message over the limit: skipped, counted.
        guard case .sample(_, _, var huge) = Self.sample("disks") else { return }
        huge.disk = .init(partitions: (0..<1000).map { .init(device: "/dev/d\($0)", mountpoint: "/mnt/\($0)", fstype: "ext4", total: 100, used: 30, free: 70, percent: 30) })
        #expect(batcher.add(.sample(hostname: "disks", receivedAt: Self.at, document: huge)) == .skipped)
        #expect(batcher.add(.message(StoredMessage(id: 1, messageID: "m", sender: "a", recipient: nil, content: String(repeating: "x", count: 5000), storedAt: Self.at))) == .skipped)
        #expect(batcher.skipped == 2)
        #expect(batcher.take().isEmpty)
    }
}
