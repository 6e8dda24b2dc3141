import Foundation
import NIOCore
import NIOEmbedded
import Synchronization
import Testing
import VigilPostgres
import VigilProtocol
@testable import VigilServer

/// The discovery handler on an `EmbeddedChannel`: answers go back to the sender, within the reply
/// budget; hostile datagrams are logged escaped and rate-limited, and change nothing.
@Suite("Discovery handler")
struct DiscoveryHandlerTests {
    final class Clock: Sendable {
        private let instant = Mutex(ContinuousClock.now)
        var now: ContinuousClock.Instant { self.instant.withLock { $0 } }
        func advance(_ duration: Duration) { self.instant.withLock { $0 += duration } }
    }

    private static let peer = try! SocketAddress(ipAddress: "192.0.2.44", port: 40_001)

    private func channel(leader: Bool = true, maxReplies: Int = 1000, logs: LogCapture = LogCapture(), clock: Clock = Clock()) throws -> EmbeddedChannel {
        var settings = DiscoverySettings()
        settings.maxRepliesPerSecond = maxReplies
        settings.maxDatagramBytes = 512
        let members = [DiscoveryResponderTests.member("member-1", load: 4), DiscoveryResponderTests.member("member-2", load: 1)]
        let handler = DiscoveryHandler(settings: settings, view: { .init(memberID: "member-0", isLeader: leader, members: members) },
                                       logger: logs.logger, now: { clock.now })
        return EmbeddedChannel(handler: handler)
    }

    private func send(_ channel: EmbeddedChannel, _ text: String, from peer: SocketAddress = Self.peer) throws {
        try channel.writeInbound(AddressedEnvelope(remoteAddress: peer, data: ByteBuffer(string: text)))
    }

    private static let request = #"{"type":"SERVER_DISCOVERY","sender_id":"alice","payload":{}}"#

    @Test("a request gets one SERVER_ANNOUNCE, unicast to the sender's address")
    func answersSender() throws {
        let channel = try self.channel()
        try self.send(channel, Self.request)
        let reply = try #require(try channel.readOutbound(as: AddressedEnvelope<ByteBuffer>.self))
        #expect(reply.remoteAddress == Self.peer)
        let answer = try DiscoveryDatagram.decode(reply.data, maxBytes: 4096)
        #expect(answer.senderID == "member-0")
        #expect(answer.body == .announce(ServerAnnouncePayload(assignedHost: "10.0.0.2", assignedTCPPort: 5001, serverID: "member-2")))
        #expect(answer.messageID?.isEmpty == false)
        #expect(try channel.readOutbound(as: AddressedEnvelope<ByteBuffer>.self) == nil)
        #expect(try channel.finish().isClean)
    }

    @Test("a follower answers nothing")
    func followerSilent() throws {
        let channel = try self.channel(leader: false)
        try self.send(channel, Self.request)
        #expect(try channel.readOutbound(as: AddressedEnvelope<ByteBuffer>.self) == nil)
    }

    @Test("answers beyond cluster.discovery_max_replies_per_second are not sent; the budget refills with time")
    func replyBudget() throws {
        let clock = Clock()
        let logs = LogCapture()
        let channel = try self.channel(maxReplies: 2, logs: logs, clock: clock)
        for _ in 0..<5 { try self.send(channel, Self.request) }
        var answers = 0
        while try channel.readOutbound(as: AddressedEnvelope<ByteBuffer>.self) != nil { answers += 1 }
        #expect(answers == 2)
        #expect(logs.all.filter { $0.contains("max_replies_per_second") }.count == 1)
        clock.advance(.seconds(1))
        try self.send(channel, Self.request)
        #expect(try channel.readOutbound(as: AddressedEnvelope<ByteBuffer>.self) != nil)
    }

    @Test("hostile datagrams: ignored, logged once per interval with the peer's text escaped, the channel still answering")
    func hostile() throws {
        let clock = Clock()
        let logs = LogCapture()
        let channel = try self.channel(logs: logs, clock: clock)
        let hostile = "x\nforged-line level=critical \u{1B}[31mred\u{202E}"
        let typeJSON = String(data: try JSONEncoder().encode(hostile), encoding: .utf8)!
        try self.send(channel, #"{"type":\#(typeJSON),"payload":{}}"#)
        try self.send(channel, "\u{1B}[2J garbage")
        try self.send(channel, String(repeating: "{", count: 4096))
        #expect(try channel.readOutbound(as: AddressedEnvelope<ByteBuffer>.self) == nil)
        #expect(logs.all.count == 1, "\(logs.all)")
        let line = try #require(logs.all.first)
        #expect(line.contains("unknown_type"))
        #expect(!line.contains("\n") && !line.contains("\u{1B}") && !line.contains("\u{202E}"), "\(line)")
        #expect(line.contains("\\n") && line.contains("\\u{1B}") && line.contains("\\u{202E}"), "\(line)")
        clock.advance(.seconds(10))
        try self.send(channel, "nonsense")
        #expect(logs.all.count == 2)
        #expect(logs.all.last?.contains("ignored_since_last_line=2") == true, "\(logs.all)")
        // Still serving.
        try self.send(channel, Self.request)
        #expect(try channel.readOutbound(as: AddressedEnvelope<ByteBuffer>.self) != nil)
        #expect(try channel.finish().isClean)  // nothing passed on, nothing left unsent
    }
}
