import Foundation
import NIOCore
import Testing
import VigilProtocol

/// The hand-written `HEARTBEAT_ACK` says exactly what the envelope's Codable encoding says.
@Suite("Heartbeat ack frame")
struct HeartbeatAckFrameTests {
    @Test("decodes to the same envelope as JSONEncoder's frame, for whole, fractional, tiny and huge values", arguments: [
        (UInt64(0), 0.0), (1, 1_795_332_719.0), (42, 1_795_332_719.123456), (UInt64.max, 1_795_332_719.000001),
        (7, 0.000123), (8, 253_402_300_799), (9, 123.5),
    ])
    func sameAsCodable(seq: UInt64, time: Double) throws {
        let fast = HeartbeatAckFrame.encode(seq: seq, serverTime: time, allocator: ByteBufferAllocator())
        let codable = Envelope(.heartbeatAck(HeartbeatAckPayload(seq: seq, serverTime: time)), senderID: "server", timestamp: time).encodedFrame()
        let decoded = try Envelope.decode(jsonFrame: fast)
        #expect(decoded == (try Envelope.decode(jsonFrame: codable)))
        guard case .heartbeatAck(let ack) = decoded.body else {
            Issue.record("not a HEARTBEAT_ACK: \(decoded)")
            return
        }
        #expect(ack.seq == seq)
        #expect(ack.serverTime == time)
        #expect(decoded.senderID == "server")
        #expect(decoded.timestamp == time)
        #expect(decoded.messageID == nil)
    }
}
