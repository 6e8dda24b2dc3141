import VigilMetrics

/// One session's `METRICS` frames that the server has not answered yet, by `message_id`: live
/// samples (kept whole, to be spooled if the connection ends first) and replayed spool records.
struct MetricsLedger {
    /// Live samples sent and not answered, oldest first (acknowledgements come in order, so the
    /// one answered is nearly always the first).
    private(set) var live: [(id: String, document: MetricsDocument)] = []
    private var replayed: [String: UInt64] = [:]
    /// Whether this session started replaying the spool (after its first live sample, so the
    /// server's newest sample of the host is the live one and every replayed sample is back-fill).
    var replayStarted = false

    /// Records a live sample sent. Returns the oldest ones beyond `limit`, to be spooled now.
    mutating func sentLive(_ id: String, _ document: MetricsDocument, limit: Int) -> [MetricsDocument] {
        self.live.append((id, document))
        guard self.live.count > limit else { return [] }
        let overflow = self.live.prefix(self.live.count - limit).map(\.document)
        self.live.removeFirst(self.live.count - limit)
        return overflow
    }

    mutating func sentReplay(_ id: String, record: UInt64) {
        self.replayed[id] = record
    }

    enum Answered {
        case live(MetricsDocument)
        case replay(UInt64)
    }

    /// The frame a `SERVER_RESPONSE` answers, forgotten here; nil when it is not a metrics frame of this session.
    mutating func answer(_ id: String) -> Answered? {
        if let record = self.replayed.removeValue(forKey: id) { return .replay(record) }
        guard let index = self.live.firstIndex(where: { $0.id == id }) else { return nil }
        return .live(self.live.remove(at: index).document)
    }

    /// The live samples still unanswered, oldest first.
    var unanswered: [MetricsDocument] { self.live.map(\.document) }
}
