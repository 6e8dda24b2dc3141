import Testing
import VigilStore
@testable import VigilPostgres

/// The NOTIFY payloads that wake other servers' clients, and their parsing.
@Suite("Mail wake-ups between servers")
struct MailWakeupTests {
    @Test("recipients are listed with the batch's highest row id and come back as written")
    func roundTrip() {
        let payloads = PostgresStore.wakeupPayloads(maxRowID: 42, recipients: ["bob", "alice"], broadcast: false)
        #expect(payloads == ["42 alice bob"])
        #expect(PostgresStore.wakeup(from: payloads[0]) == .clients(["alice", "bob"], rowID: 42))
    }

    @Test("a broadcast, or more recipients than a list is worth, wakes everyone")
    func everyone() {
        #expect(PostgresStore.wakeupPayloads(maxRowID: 7, recipients: ["alice"], broadcast: true) == ["7 *"])
        let many = Set((0...PostgresStore.notifyMaxRecipients).map { "host-\($0)" })
        #expect(PostgresStore.wakeupPayloads(maxRowID: 9, recipients: many, broadcast: false) == ["9 *"])
        #expect(PostgresStore.wakeup(from: "9 *") == .everyone(rowID: 9))
    }

    @Test("long lists are split under PostgreSQL's payload limit, every recipient in exactly one payload")
    func split() {
        let names = Set((0..<1500).map { "a-rather-long-client-name-number-\($0)" })
        let payloads = PostgresStore.wakeupPayloads(maxRowID: 1_000_000, recipients: names, broadcast: false)
        #expect(payloads.count > 1)
        #expect(payloads.allSatisfy { $0.utf8.count <= PostgresStore.notifyPayloadLimit })
        var seen: [String] = []
        for payload in payloads {
            guard case .clients(let clients, let rowID) = PostgresStore.wakeup(from: payload) else { Issue.record("\(payload.prefix(40))"); continue }
            #expect(rowID == 1_000_000)
            seen += clients
        }
        #expect(seen.sorted() == names.sorted())
    }

    @Test("payloads this version does not understand are ignored", arguments: ["", "x alice", "0 alice", "-3 alice", "12", "12 "])
    func garbage(_ payload: String) {
        #expect(PostgresStore.wakeup(from: payload) == nil)
    }
}
