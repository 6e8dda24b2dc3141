import Foundation
import Testing
import VigilProtocol
@testable import VigilServer

/// Peer-supplied text never reaches the log raw: a newline, an ANSI escape or a bidi override in
/// any string field of a register, a message or a file offer is escaped, so no log line is forged
/// and no terminal is driven by a peer.
@Suite("Log forgery on the agent port", .serialized)
struct LogEscapingTests {
    /// A newline that would start a forged line, an ANSI colour, a right-to-left override, NEL and
    /// LINE SEPARATOR (both line breaks to some viewers). 57 bytes: fits every field's limit.
    static let hostile = "x\nforged-line level=critical \u{1B}[31mred\u{202E}gnp.exe\u{85}nel\u{2028}ls"
    static let raw: [Character] = ["\n", "\r", "\u{1B}", "\u{202E}", "\u{85}", "\u{2028}"]

    @Test("newline, ANSI and bidi characters in every string field of register, messages, offers, unregister and frames that fail are escaped in the log")
    func everyField() async throws {
        try await withMessagingServer { server in
            let h = Self.hostile
            let peer = try await RawPeer.connect(port: server.agentPort)
            let key = try await server.key(for: "h1")
            try await peer.send(Envelope(.clientRegister(RegisterPayload(key: key, hostname: h, capabilities: ["heartbeat", h], agentVersion: h)), senderID: h, messageID: h))
            #expect(try await peer.response()?.success == true)

            // Messages: to an unknown recipient with a hostile id; empty content; an ack for nothing.
            try await peer.send(Envelope(.clientMessage(ClientMessagePayload(content: h, recipient: h, seq: 1)), senderID: h, messageID: h))
            #expect(try await peer.response()?.code == .unknownRecipient)
            try await peer.send(Envelope(.clientMessage(ClientMessagePayload(content: "", recipient: nil)), senderID: h, messageID: h + "2"))
            #expect(try await peer.response()?.code == .invalidMessage)
            try await peer.send(Envelope(.messageAck(MessageAckPayload(ackedMessageID: h, status: h, ackedSenderID: h)), senderID: h, messageID: h))

            // Offers: a hostile transfer id and name (refused); a name with a bidi override (accepted).
            let sha = String(repeating: "a", count: 64)
            try await peer.send(Envelope(.fileOffer(FileOfferPayload(transferID: h, filename: h, size: 1, sha256: h, recipient: h, sender: h)), messageID: h))
            guard case .fileReject = try await peer.nextAnswer() else { Issue.record("expected FILE_REJECT"); return }
            try await peer.send(Envelope(.fileOffer(FileOfferPayload(transferID: UUID().uuidString, filename: "invoice\u{202E}gnp.exe", size: 10, sha256: sha)), messageID: h))
            guard case .fileReady = try await peer.nextAnswer() else { Issue.record("expected FILE_READY"); return }
            try await peer.send(Envelope(.fileOffer(FileOfferPayload(transferID: UUID().uuidString, filename: "x", size: 1, sha256: sha, recipient: h)), messageID: h))
            guard case .fileReject = try await peer.nextAnswer() else { Issue.record("expected FILE_REJECT"); return }

            // Frames that fail: an unknown type, a metrics timestamp that is not a date.
            try await peer.send(json: #"{"type":"\#(h.unicodeEscapedJSON)","payload":{}}"#)
            #expect(try await peer.response()?.code == .unknownType)
            try await peer.send(json: #"{"type":"METRICS","payload":{"timestamp":"\#(h.unicodeEscapedJSON)"}}"#)
            #expect(try await peer.response()?.code == .invalidField)

            // A goodbye with a hostile reason (recorded with the STOPPED event).
            try await peer.send(Envelope(.clientUnregister(UnregisterPayload(reason: h)), senderID: h, messageID: h))
            #expect(try await peer.response()?.success == true)
            await peer.close()

            // Open enrollment: a user whose name breaks the rules, and one under a fine name with a hostile version.
            let user = try await RawPeer.connect(port: server.agentPort)
            try await user.send(Envelope(.clientRegister(RegisterPayload(key: nil, hostname: "alice", agentVersion: h, kind: .user)), messageID: h))
            #expect(try await user.response()?.success == true)
            await user.close()

            for fragment in ["agent registered", "user registered", "message refused", "file offer refused", "file transfer started", "protocol error", "clean shutdown"] {
                try await eventually(timeout: .seconds(5), "a log line with \(fragment)") { server.logs.contains(fragment) }
            }
            let lines = server.logs.all
            for line in lines {
                let found = Self.raw.filter { line.contains($0) }
                #expect(found.isEmpty, "raw \(found.map { "U+" + String($0.unicodeScalars.first!.value, radix: 16, uppercase: true) }) in log line \(line.debugDescription)")
            }
            #expect(!lines.contains { $0.hasPrefix("forged-line") })
            let registered = try #require(lines.first { $0.contains("agent registered") })
            #expect(registered.contains(#"agent_version="x\nforged-line level=critical \u{1B}[31mred\u{202E}gnp.exe\u{85}nel\u{2028}ls""#), "\(registered)")
            #expect(registered.contains(#"reported_hostname="x\nforged-line"#), "\(registered)")
        }
    }

    @Test("a hostile user name in a failed or throttled sign-in is escaped in the log")
    func signInName() async throws {
        try await TestServer.with { server in
            for _ in 0..<7 {
                let (status, _, _) = try await server.signIn(Self.hostile, "wrong password")
                #expect(status == 401 || status == 429)
            }
            try await eventually(timeout: .seconds(5), "a throttled sign-in") { server.logs.contains("sign-in refused: too many failures") }
            for line in server.logs.all {
                let found = Self.raw.filter { line.contains($0) }
                #expect(found.isEmpty, "raw \(found.map { "U+" + String($0.unicodeScalars.first!.value, radix: 16, uppercase: true) }) in log line \(line.debugDescription)")
            }
            #expect(!server.logs.all.contains { $0.hasPrefix("forged-line") })
        }
    }
}

extension String {
    /// This text inside a JSON string literal, with every non-ASCII or control character as `\uXXXX`.
    fileprivate var unicodeEscapedJSON: String {
        var out = ""
        for unit in self.utf16 {
            if unit < 0x20 || unit > 0x7E || unit == 0x22 || unit == 0x5C {
                out += String(format: "\\u%04x", unit)
            } else {
                out.unicodeScalars.append(Unicode.Scalar(unit)!)
            }
        }
        return out
    }
}
