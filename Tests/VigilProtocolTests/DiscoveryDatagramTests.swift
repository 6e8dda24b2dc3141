import Foundation
import NIOCore
import Testing
import VigilProtocol

/// The UDP discovery datagrams (PROTOCOL.md §14): exact field names, and every malformed datagram
/// refused with the precise reason a TCP frame would get.
@Suite("Discovery datagrams")
struct DiscoveryDatagramTests {
    private func decode(_ text: String, maxBytes: Int = 4096) throws(ProtocolViolation) -> DiscoveryDatagram {
        try DiscoveryDatagram.decode(ByteBuffer(string: text), maxBytes: maxBytes)
    }

    @Test("the original client's SERVER_DISCOVERY decodes; payload fields are ignored")
    func discovery() throws {
        let datagram = try self.decode(#"{"type":"SERVER_DISCOVERY","sender_id":"alice","payload":{},"timestamp":1718000000.5,"message_id":"m-1"}"#)
        #expect(datagram == DiscoveryDatagram(.discovery(ServerDiscoveryPayload()), senderID: "alice", timestamp: 1718000000.5, messageID: "m-1"))
        let extra = try self.decode(#"{"type":"SERVER_DISCOVERY","payload":{"client_port":9,"anything":[1,2]}}"#)
        #expect(extra.type == .serverDiscovery)
        #expect(extra.senderID == nil)
    }

    @Test("SERVER_ANNOUNCE encodes with the wire's field names and decodes back")
    func announce() throws {
        let announce = DiscoveryDatagram(.announce(ServerAnnouncePayload(assignedHost: "10.0.0.7", assignedTCPPort: 5001, serverID: "member-1")),
                                         senderID: "member-0", timestamp: 1718000000, messageID: "r-1")
        let bytes = announce.encoded()
        let json = try #require(try JSONSerialization.jsonObject(with: Data(bytes.readableBytesView)) as? [String: Any])
        #expect(json["type"] as? String == "SERVER_ANNOUNCE")
        #expect(json["sender_id"] as? String == "member-0")
        #expect(json["message_id"] as? String == "r-1")
        #expect(json["timestamp"] as? Double == 1718000000)
        let payload = try #require(json["payload"] as? [String: Any])
        #expect(payload["assigned_host"] as? String == "10.0.0.7")
        #expect(payload["assigned_tcp_port"] as? Int == 5001)
        #expect(payload["server_id"] as? String == "member-1")
        #expect(payload.count == 3)
        #expect(try DiscoveryDatagram.decode(bytes, maxBytes: 4096) == announce)
    }

    @Test("malformed datagrams are refused with the reason: too long, empty, not JSON, not UTF-8, a TCP or unknown type, a payload that is not an object, a bad timestamp")
    func refusals() {
        func code(_ text: String, maxBytes: Int = 4096) -> ErrorCode? {
            do {
                _ = try self.decode(text, maxBytes: maxBytes)
                return nil
            } catch {
                return error.code
            }
        }
        let request = #"{"type":"SERVER_DISCOVERY","payload":{}}"#
        #expect(code(request, maxBytes: request.utf8.count) == nil)
        #expect(code(request, maxBytes: request.utf8.count - 1) == .frameTooLarge)
        #expect(code("") == .emptyFrame)
        #expect(code("SERVER_DISCOVERY") == .invalidJSON)
        #expect(code("{\"type\":") == .invalidJSON)
        var invalid = ByteBuffer(string: #"{"type":"SERVER_DISCOVERY","sender_id":""#)
        invalid.writeBytes([0xFF, 0xFE])
        invalid.writeString(#"","payload":{}}"#)
        #expect(throws: ProtocolViolation(.invalidUTF8, "datagram is not valid UTF-8")) { try DiscoveryDatagram.decode(invalid, maxBytes: 4096) }
        #expect(code(#"{"type":"CLIENT_REGISTER","payload":{}}"#) == .unknownType)
        #expect(code(#"{"type":"\u001b[31mEVIL\n","payload":{}}"#) == .unknownType)
        #expect(code(#"{"type":"SERVER_DISCOVERY"}"#) == .missingField)
        #expect(code(#"{"type":"SERVER_DISCOVERY","payload":[]}"#) == .invalidField)
        #expect(code(#"{"type":"SERVER_DISCOVERY","payload":"x"}"#) == .invalidField)
        #expect(code(#"{"type":"SERVER_DISCOVERY","payload":{},"sender_id":7}"#) == .invalidField)
        #expect(code(#"{"type":"SERVER_DISCOVERY","payload":{},"timestamp":1e300}"#) == .invalidField)
        #expect(code(#"{"type":"SERVER_ANNOUNCE","payload":{"assigned_host":"h","server_id":"s"}}"#) == .missingField)
        #expect(code(#"{"type":"SERVER_ANNOUNCE","payload":{"assigned_host":"h","assigned_tcp_port":"5001","server_id":"s"}}"#) == .invalidField)
    }
}
