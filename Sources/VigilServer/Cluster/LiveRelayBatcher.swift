import Foundation
import VigilMetrics

/// Packs relay items into NOTIFY payloads of at most `limit` bytes, as many items per payload as
/// fit, in order: `{"origin":"<member>","seq":<n>,"items":[<item>,…]}`. Each item is encoded once.
///
/// An item too large for a payload of its own: a sample has its process lists halved (the top
/// entries kept) until it fits, or dropped when even without them it does not (`trimmed`); anything
/// else, or a sample still too large without processes, is skipped (`skipped`). A pure value, no
/// I/O: the relay's task owns one.
struct LiveRelayBatcher {
    let origin: String
    let limit: Int
    /// The last payload's number; the first is 1.
    private(set) var sequence: UInt64 = 0
    /// Samples sent with their process lists cut, and items skipped as too large, since start.
    private(set) var trimmed = 0
    private(set) var skipped = 0
    private var done: [String] = []
    private var open: [String] = []
    private var openBytes = 0
    private let encoder = LiveRelayItem.encoder()
    /// `{"origin":"…","seq":` … `,"items":[`, `]}` with the widest sequence number: what every payload spends besides its items.
    private let overhead: Int
    private let originJSON: String

    enum Outcome: Equatable {
        case added, trimmed, skipped
    }

    init(origin: String, limit: Int) {
        self.origin = origin
        self.limit = limit
        self.originJSON = String(decoding: (try? JSONEncoder().encode(origin)) ?? Data("\"\"".utf8), as: UTF8.self)
        self.overhead = #"{"origin":,"seq":,"items":[]}"#.utf8.count + self.originJSON.utf8.count + String(UInt64.max).utf8.count
    }

    /// The most bytes one item may take.
    var maxItemBytes: Int { self.limit - self.overhead }

    /// Adds an item to the open payload, closing it first when the item does not fit beside the others.
    @discardableResult
    mutating func add(_ item: LiveRelayItem) -> Outcome {
        guard let encoded = self.encode(item) else {
            self.skipped += 1
            return .skipped
        }
        let (text, cut) = encoded
        let bytes = text.utf8.count
        if !self.open.isEmpty, self.openBytes + 1 + bytes > self.maxItemBytes { self.close() }
        self.openBytes += (self.open.isEmpty ? 0 : 1) + bytes
        self.open.append(text)
        if cut { self.trimmed += 1 }
        return cut ? .trimmed : .added
    }

    /// Every payload made so far, the open one closed.
    mutating func take() -> [String] {
        self.close()
        defer { self.done.removeAll(keepingCapacity: true) }
        return self.done
    }

    private mutating func close() {
        guard !self.open.isEmpty else { return }
        self.sequence += 1
        self.done.append(#"{"origin":"# + self.originJSON + #","seq":"# + String(self.sequence) + #","items":["# + self.open.joined(separator: ",") + "]}")
        self.open.removeAll(keepingCapacity: true)
        self.openBytes = 0
    }

    /// The item's JSON, cut to fit as the type's notes say; `nil` when it cannot be made to fit.
    private func encode(_ item: LiveRelayItem) -> (String, cut: Bool)? {
        guard let data = try? self.encoder.encode(item) else { return nil }
        if data.count <= self.maxItemBytes { return (String(decoding: data, as: UTF8.self), false) }
        guard case .sample(let hostname, let receivedAt, var document) = item else { return nil }
        while let processes = document.processes {
            if processes.topCPU.isEmpty, processes.topMemory.isEmpty {
                document.processes = nil
            } else {
                document.processes = MetricsDocument.Processes(
                    total: processes.total,
                    topCPU: Array(processes.topCPU.prefix(processes.topCPU.count / 2)),
                    topMemory: Array(processes.topMemory.prefix(processes.topMemory.count / 2)))
            }
            guard let data = try? self.encoder.encode(LiveRelayItem.sample(hostname: hostname, receivedAt: receivedAt, document: document)) else { return nil }
            if data.count <= self.maxItemBytes { return (String(decoding: data, as: UTF8.self), true) }
        }
        return nil
    }
}
