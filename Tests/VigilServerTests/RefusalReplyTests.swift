import Foundation
import Testing
import VigilProtocol
@testable import VigilServer

/// PROTOCOL.md §7: every refusal of a frame whose `message_id` could be read carries it as
/// `in_reply_to`, also when the frame's payload does not decode.
@Suite("in_reply_to on refusals", .serialized)
struct RefusalReplyTests {
    @Test("METRICS, CLIENT_MESSAGE and unknown types that fail to decode are answered with in_reply_to; unreadable ids are not quoted")
    func undecodableFrames() async throws {
        try await TestServer.with { server in
            let peer = try await RawPeer.connect(port: server.agentPort)
            try await peer.register(key: try await server.key(for: "web-1"), hostname: "web-1")
            #expect(try await peer.response()?.success == true)

            let cases: [(json: String, code: ErrorCode, id: String?)] = [
                (#"{"type":"METRICS","payload":{"cpu":{"cpu_percent_total":1}},"message_id":"m-missing"}"#, .missingField, "m-missing"),
                (#"{"type":"METRICS","payload":{"cpu":{"cpu_count_logical":"four"}},"message_id":"m-invalid"}"#, .invalidField, "m-invalid"),
                (#"{"type":"METRICS","message_id":"m-nopayload"}"#, .missingField, "m-nopayload"),
                (#"{"type":"CLIENT_MESSAGE","payload":{"recipient":"x"},"message_id":"c-missing"}"#, .missingField, "c-missing"),
                (#"{"type":"HEARTBEAT","payload":{"seq":-1},"message_id":"h-invalid"}"#, .invalidField, "h-invalid"),
                (#"{"type":"NO_SUCH_TYPE","payload":{},"message_id":"u-1"}"#, .unknownType, "u-1"),
                // Not quoted: the id is not a string, or the frame is not JSON at all.
                (#"{"type":"METRICS","payload":{},"message_id":7}"#, .invalidField, nil),
                (#"{"type":"METRICS","payload":"#, .invalidJSON, nil),
            ]
            for (json, code, id) in cases {
                try await peer.send(json: json)
                let reply = try #require(try await peer.response(), "no answer to \(json)")
                #expect(reply.code == code, "\(json): \(reply.message)")
                #expect(reply.inReplyTo == id, "\(json): in_reply_to \(reply.inReplyTo ?? "absent")")
                #expect(!reply.fatal)
            }
            await peer.close()
        }
    }

    @Test("before registration: a register whose payload does not decode is refused with in_reply_to")
    func undecodableRegister() async throws {
        try await TestServer.with { server in
            let peer = try await RawPeer.connect(port: server.agentPort)
            try await peer.send(json: #"{"type":"CLIENT_REGISTER","payload":{"protocol_version":"1","hostname":"a"},"message_id":"r-1"}"#)
            let reply = try #require(try await peer.response())
            #expect(reply.code == .invalidField)
            #expect(reply.fatal)
            #expect(reply.inReplyTo == "r-1")
        }
    }
}
