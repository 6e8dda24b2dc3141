import Foundation

/// One NOTIFY payload on the relay channel, as received: `{"origin":…,"seq":…,"items":[…]}`.
///
/// `origin` is the sending member's id (a server skips its own payloads), `seq` counts that
/// member's payloads from 1 since it started (a gap is payloads this server missed). An item
/// this version cannot read (a newer member's kind) is skipped, not the whole payload.
struct LiveRelayPayload: Decodable {
    var origin: String
    var seq: UInt64
    var items: [LiveRelayItem]

    private enum CodingKeys: String, CodingKey {
        case origin, seq, items
    }

    /// One entry of `items`, `nil` when unreadable.
    private struct Entry: Decodable {
        var item: LiveRelayItem?
        init(from decoder: any Decoder) throws {
            self.item = try? LiveRelayItem(from: decoder)
        }
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.origin = try c.decode(String.self, forKey: .origin)
        self.seq = try c.decode(UInt64.self, forKey: .seq)
        self.items = try c.decode([Entry].self, forKey: .items).compactMap(\.item)
    }

    /// Parses a payload; `nil` for one that is not a relay payload, or that `memberID` sent itself
    /// (every member hears its own NOTIFYs too).
    static func decode(_ text: String, receivedBy memberID: String, decoder: JSONDecoder = LiveRelayItem.decoder()) -> LiveRelayPayload? {
        guard let payload = try? decoder.decode(LiveRelayPayload.self, from: Data(text.utf8)), payload.origin != memberID else { return nil }
        return payload
    }

    /// Payloads missed between the last one received from a member and `seq`. A member that
    /// restarted numbers from 1 again: only a forward jump is a gap.
    static func missed(after last: UInt64?, seq: UInt64) -> Int {
        guard let last, seq > last + 1 else { return 0 }
        return Int(clamping: seq - last - 1)
    }
}
