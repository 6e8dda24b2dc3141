import Foundation
import NIOCore
import Testing
import VigilProtocol

/// The hand-written acknowledgement of a stored `METRICS` sample says exactly what the envelope's
/// Codable encoding says, whatever the `message_id` holds.
@Suite("Metrics acknowledgement frame")
struct MetricsAckFrameTests {
    @Test("decodes to the same envelope as JSONEncoder's frame, for ordinary and hostile message ids", arguments: [
        "3f2a7c1e-8b4d-4e6f-9a0b-1c2d3e4f5a6b", "m-1", "", #"quote " and backslash \ "#, "tab\tnewline\ncr\rnul\u{0}bell\u{7}",
        "\u{1B}[31mred\u{202E}gnp.exe\u{85}\u{2028}", "ünïcødé 🎉", String(repeating: "x", count: ProtocolLimits.maxMessageIDBytes),
    ])
    func sameAsCodable(messageID: String) throws {
        let time = 1_795_332_719.123
        let fast = MetricsAckFrame.encode(inReplyTo: messageID, serverTime: time, allocator: ByteBufferAllocator())
        let payload = ServerResponsePayload(success: true, message: "stored", inReplyTo: messageID)
        let codable = Envelope(.serverResponse(payload), senderID: "server", timestamp: time).encodedFrame()
        let decoded = try Envelope.decode(jsonFrame: fast)
        #expect(decoded == (try Envelope.decode(jsonFrame: codable)))
        guard case .serverResponse(let answer) = decoded.body else {
            Issue.record("not a SERVER_RESPONSE: \(decoded)")
            return
        }
        #expect(answer.success && !answer.fatal && answer.code == nil)
        #expect(answer.inReplyTo == messageID)
        #expect(decoded.senderID == "server" && decoded.timestamp == time && decoded.messageID == nil)
    }
}
