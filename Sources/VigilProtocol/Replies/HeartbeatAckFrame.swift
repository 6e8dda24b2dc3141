import NIOCore

/// The `HEARTBEAT_ACK` frame payload, written straight to bytes.
///
/// Every agent's heartbeat is answered, 20,000 times a second at the fleet sizes of
/// docs/PERFORMANCE.md; building an ``Envelope`` and running it through `JSONEncoder` was a tenth
/// of the server's CPU per heartbeat (perf, issue 6). The bytes are the same JSON document the
/// envelope encodes to (same keys and values, numbers in their shortest round-trip form; only the
/// key order differs, which JSON leaves free), which `HeartbeatAckFrameTests` checks by decoding both.
public enum HeartbeatAckFrame {
    /// - Parameters:
    ///   - seq: The acknowledged heartbeat's `seq`.
    ///   - serverTime: The server's clock, Unix seconds (also the envelope's `timestamp`).
    public static func encode(seq: UInt64, serverTime: Double, allocator: ByteBufferAllocator) -> ByteBuffer {
        let time = Self.number(serverTime)
        var buffer = allocator.buffer(capacity: 96 + time.utf8.count * 2)
        buffer.writeStaticString(#"{"type":"HEARTBEAT_ACK","sender_id":"server","payload":{"seq":"#)
        buffer.writeString(String(seq))
        buffer.writeStaticString(#","server_time":"#)
        buffer.writeString(time)
        buffer.writeStaticString(#"},"timestamp":"#)
        buffer.writeString(time)
        buffer.writeStaticString("}")
        return buffer
    }

    /// A finite double as JSON: Swift's shortest round-trip digits, without the `.0` of a whole
    /// number (as `JSONEncoder` writes it). A clock reading is always finite.
    static func number(_ value: Double) -> String {
        guard value.isFinite else { return "0" }
        let text = value.description
        return text.hasSuffix(".0") ? String(text.dropLast(2)) : text
    }
}
