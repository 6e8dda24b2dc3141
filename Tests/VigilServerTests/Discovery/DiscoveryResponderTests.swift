import Foundation
import NIOCore
import Testing
import VigilPostgres
import VigilProtocol
@testable import VigilServer

/// The decision on one discovery datagram, without a socket: who answers, whom it names, what is ignored.
@Suite("Discovery responder")
struct DiscoveryResponderTests {
    static let request = ByteBuffer(string: #"{"type":"SERVER_DISCOVERY","sender_id":"alice","payload":{},"timestamp":1718000000,"message_id":"q-1"}"#)
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    static func member(_ id: String, load: Int, capacity: Int = 0, address: String? = nil) -> ClusterMember {
        ClusterMember(id: id, agentAddress: address ?? "10.0.0.\(id.last.flatMap { Int(String($0)) } ?? 9):5001", httpAddress: "-", load: load, capacity: capacity, startedAt: now)
    }

    private let responder = DiscoveryResponder(maxDatagramBytes: 512)

    private func decide(_ datagram: ByteBuffer = Self.request, leader: Bool = true, members: [ClusterMember]) -> DiscoveryResponder.Decision {
        self.responder.decide(datagram, view: .init(memberID: "member-0", isLeader: leader, members: members), now: Self.now, replyID: "r-1")
    }

    @Test("the leader answers with SERVER_ANNOUNCE naming the least-loaded live member's agent address, signed with its own id")
    func leaderAnswers() {
        let members = [Self.member("member-0", load: 5), Self.member("member-1", load: 2), Self.member("member-2", load: 3)]
        let expected = DiscoveryDatagram(.announce(ServerAnnouncePayload(assignedHost: "10.0.0.1", assignedTCPPort: 5001, serverID: "member-1")),
                                         senderID: "member-0", timestamp: Self.now.timeIntervalSince1970, messageID: "r-1")
        #expect(self.decide(members: members) == .answer(expected))
    }

    @Test("a follower stays silent, so the cluster answers once")
    func followerSilent() {
        #expect(self.decide(leader: false, members: [Self.member("member-1", load: 0)]) == .silent(.follower))
    }

    @Test("nobody below capacity, or no member known yet: no answer")
    func nobodyWithRoom() {
        #expect(self.decide(members: []) == .silent(.noMemberWithRoom))
        #expect(self.decide(members: [Self.member("member-1", load: 10, capacity: 10), Self.member("member-2", load: 11, capacity: 10)]) == .silent(.noMemberWithRoom))
    }

    @Test("an IPv6 agent address is announced without brackets; one that is not host:port is not announced")
    func addresses() {
        guard case .answer(let answer) = self.decide(members: [Self.member("member-1", load: 0, address: "[fd00::7]:6001")]),
              case .announce(let payload) = answer.body else {
            Issue.record("expected an answer")
            return
        }
        #expect(payload.assignedHost == "fd00::7")
        #expect(payload.assignedTCPPort == 6001)
        #expect(self.decide(members: [Self.member("member-1", load: 0, address: "host:99999")]) == .silent(.unusableAddress("host:99999")))
    }

    @Test("garbage, an oversized datagram, a SERVER_ANNOUNCE (another leader's answer) and a TCP type are ignored, leader or not")
    func ignored() {
        let members = [Self.member("member-1", load: 0)]
        for (text, code) in [
            ("not json", ErrorCode.invalidJSON),
            (#"{"type":"SERVER_ANNOUNCE","payload":{"assigned_host":"h","assigned_tcp_port":1,"server_id":"x"}}"#, .unexpectedType),
            (#"{"type":"CLIENT_REGISTER","payload":{}}"#, .unknownType),
            (#"{"type":"SERVER_DISCOVERY","payload":{"pad":""# + String(repeating: "x", count: 600) + #""}}"#, .frameTooLarge),
        ] {
            for leader in [true, false] {
                guard case .ignored(let violation) = self.decide(ByteBuffer(string: text), leader: leader, members: members) else {
                    Issue.record("not ignored: \(text.prefix(40))")
                    continue
                }
                #expect(violation.code == code, "\(text.prefix(40))")
            }
        }
    }

    @Test("the target ranks as redirects do: agents per capacity when every member states one, else agent counts; then fewer agents, then the lower id; full members skipped")
    func target() {
        func target(_ members: [ClusterMember]) -> String? { ClusterBalance(members: members, me: "x", tolerance: 0).discoveryTarget?.id }
        // 5/10 = 0.5 beats 3/4 = 0.75 although its load is higher.
        #expect(target([Self.member("a", load: 3, capacity: 4), Self.member("b", load: 5, capacity: 10)]) == "b")
        // Equal ratios (0.5): the lower load.
        #expect(target([Self.member("a", load: 4, capacity: 8), Self.member("b", load: 2, capacity: 4)]) == "b")
        // Equal everything: the lower id, whatever the order.
        #expect(target([Self.member("member-2", load: 1), Self.member("member-1", load: 1)]) == "member-1")
        // Full members are skipped even when their ratio would be low.
        #expect(target([Self.member("a", load: 1, capacity: 1), Self.member("b", load: 9, capacity: 10)]) == "b")
        // A member without a limit: plain agent counts for all.
        #expect(target([Self.member("a", load: 1, capacity: 100), Self.member("b", load: 7), Self.member("c", load: 3)]) == "a")
        #expect(target([Self.member("a", load: 5, capacity: 100), Self.member("b", load: 3)]) == "b")
        #expect(target([]) == nil)
    }
}
