#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NIOCore

extension Envelope {
    /// The `message_id` of a JSON frame that did not decode as a whole (a payload with a missing or
    /// mistyped field, an unknown `type`), so its refusal can still quote it as `in_reply_to`
    /// (PROTOCOL.md §7). `nil` when the frame is not JSON, has no `message_id`, has one that is not
    /// a string, or one over ``ProtocolLimits/maxMessageIDBytes``.
    public static func readableMessageID(in frame: ByteBuffer) -> String? {
        guard frame.getInteger(at: frame.readerIndex, as: UInt8.self) == UInt8(ascii: "{"),
              let probe = try? JSONDecoder().decode(MessageIDProbe.self, from: Data(frame.readableBytesView)),
              let id = probe.messageID, id.utf8.count <= ProtocolLimits.maxMessageIDBytes
        else { return nil }
        return id
    }
}

/// Only the envelope's `message_id`; every other field is ignored.
private struct MessageIDProbe: Decodable {
    var messageID: String?

    enum CodingKeys: String, CodingKey {
        case messageID = "message_id"
    }
}
