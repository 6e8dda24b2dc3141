import NIOCore

/// The acknowledgement of a stored `METRICS` sample: a `SERVER_RESPONSE` with `success: true`,
/// `fatal: false`, `message: "stored"` and `in_reply_to`, written straight to bytes.
///
/// Every sample of every agent is acknowledged (2,000 a second at 10,000 hosts); through
/// `Envelope` and `JSONEncoder` the answer cost about a tenth of what decoding the sample does
/// (perf, `vigil-bench history`). The bytes are the JSON document the envelope encodes to, with no
/// `message_id` (optional; an acknowledgement is matched by `in_reply_to`), which
/// `MetricsAckFrameTests` checks by decoding both.
public enum MetricsAckFrame {
    /// - Parameters:
    ///   - messageID: The `METRICS` frame's `message_id` (at most `ProtocolLimits.maxMessageIDBytes`).
    ///   - serverTime: The server's clock, Unix seconds (the envelope's `timestamp`).
    public static func encode(inReplyTo messageID: String, serverTime: Double, allocator: ByteBufferAllocator) -> ByteBuffer {
        let time = HeartbeatAckFrame.number(serverTime)
        var buffer = allocator.buffer(capacity: 128 + messageID.utf8.count * 6 + time.utf8.count)
        buffer.writeStaticString(#"{"type":"SERVER_RESPONSE","sender_id":"server","payload":{"success":true,"fatal":false,"message":"stored","in_reply_to":"#)
        Self.writeJSONString(messageID, into: &buffer)
        buffer.writeStaticString(#"},"timestamp":"#)
        buffer.writeString(time)
        buffer.writeStaticString("}")
        return buffer
    }

    /// A JSON string literal: quotes, backslashes and control characters escaped (`\uXXXX` for the
    /// latter), everything else as its UTF-8 bytes, which JSON allows.
    static func writeJSONString(_ text: String, into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                buffer.writeInteger(UInt8(ascii: "\\"))
                buffer.writeInteger(byte)
            case 0..<0x20:
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                buffer.writeStaticString("\\u00")
                buffer.writeInteger(hex[Int(byte >> 4)])
                buffer.writeInteger(hex[Int(byte & 0x0F)])
            default:
                buffer.writeInteger(byte)
            }
        }
        buffer.writeInteger(UInt8(ascii: "\""))
    }
}
