import Foundation
import Testing
@testable import VigilStore

@Suite("Store on SQLite and PostgreSQL: agents and liveness events", .postgres)
struct StoreAgentTests {
    private func record(
        _ hostname: String, state: LivenessState = .healthy, stateSince: Double = 1_700_000_100.5, firstSeen: Double = 1_700_000_000.25,
        lastSeen: Double? = 1_700_000_200.75, agentVersion: String? = "vigil-agent/0.1.0", protocolVersion: Int? = 1,
        capabilities: [String] = ["heartbeat", "files"], address: String? = "192.0.2.10:40000"
    ) -> AgentRecord {
        AgentRecord(
            hostname: hostname, state: state, stateSince: date(stateSince), firstSeen: date(firstSeen),
            lastSeen: lastSeen.map(date), agentVersion: agentVersion, protocolVersion: protocolVersion,
            capabilities: capabilities, address: address
        )
    }

    // MARK: append(events:)

    @Test("append assigns increasing ids starting at 1 and keeps the other fields", arguments: StoreBackend.allCases)
    func appendAssignsIDs(backend: StoreBackend) async throws {
        try await withStore(backend) { (store) async throws in
            let input = [
                LivenessEvent(hostname: "web-01", from: nil, to: .connected, reason: "registered", at: date(1000.5)),
                LivenessEvent(hostname: "web-01", from: .connected, to: .healthy, reason: "first heartbeat", at: date(1001.25)),
                LivenessEvent(hostname: "db-01", from: nil, to: .connected, reason: "registered", at: date(1002)),
            ]
            let stored = try await store.append(events: input)
            #expect(stored.map(\.id) == [1, 2, 3])
            var expected = input
            for i in expected.indices { expected[i].id = Int64(i + 1) }
            #expect(stored == expected)

            let more = try await store.append(events: [
                LivenessEvent(hostname: "web-01", from: .healthy, to: .suspect, reason: "no heartbeat for 2.4 s (phi 9.1)", at: date(1003)),
            ])
            #expect(more.map(\.id) == [4])
            // What is read back is what was returned.
            #expect(try await store.events(hostname: nil, limit: 10, before: nil) == (expected + more).reversed())
        }
    }

    @Test("append of nothing returns nothing and stores nothing", arguments: StoreBackend.allCases)
    func appendEmpty(backend: StoreBackend) async throws {
        try await withStore(backend) { (store) async throws in
            #expect(try await store.append(events: []) == [])
            #expect(try await store.events(hostname: nil, limit: 10, before: nil) == [])
            #expect(try await store.agents() == [])
        }
    }

    @Test("append creates the agent row for a new host and moves its state with each event", arguments: StoreBackend.allCases)
    func appendUpdatesAgentState(backend: StoreBackend) async throws {
        try await withStore(backend) { (store) async throws in
            try await store.append(events: [
                LivenessEvent(hostname: "web-01", from: nil, to: .connected, reason: "registered", at: date(2000.5)),
            ])
            let created = try #require(try await store.agent(hostname: "web-01"))
            #expect(created == AgentRecord(
                hostname: "web-01", state: .connected, stateSince: date(2000.5), firstSeen: date(2000.5), lastSeen: nil,
                agentVersion: nil, protocolVersion: nil, capabilities: [], address: nil
            ))

            try await store.append(events: [
                LivenessEvent(hostname: "web-01", from: .connected, to: .healthy, reason: "heartbeat", at: date(2001)),
                LivenessEvent(hostname: "db-01", from: nil, to: .connected, reason: "registered", at: date(2002)),
                LivenessEvent(hostname: "web-01", from: .healthy, to: .suspect, reason: "late", at: date(2003.75)),
            ])
            let web = try #require(try await store.agent(hostname: "web-01"))
            #expect(web.state == .suspect)
            #expect(web.stateSince == date(2003.75))
            #expect(web.firstSeen == date(2000.5))  // first_seen is not moved by later events
            let db = try #require(try await store.agent(hostname: "db-01"))
            #expect(db.state == .connected)
            #expect(db.stateSince == date(2002))
            #expect(try await store.agents().map(\.hostname) == ["db-01", "web-01"])
        }
    }

    @Test("append moves the state of an upserted agent without touching its other fields", arguments: StoreBackend.allCases)
    func appendKeepsOtherAgentFields(backend: StoreBackend) async throws {
        try await withStore(backend) { (store) async throws in
            let original = self.record("web-01", state: .healthy)
            try await store.upsertAgent(original)
            try await store.append(events: [
                LivenessEvent(hostname: "web-01", from: .healthy, to: .down, reason: "silence", at: date(1_700_000_500.5)),
            ])
            var expected = original
            expected.state = .down
            expected.stateSince = date(1_700_000_500.5)
            #expect(try await store.agent(hostname: "web-01") == expected)
        }
    }

    // MARK: events(hostname:limit:before:)

    /// Stores 8 events: web-01 gets ids 1, 3, 5, 6, 8; db-01 gets ids 2, 4, 7.
    private func seedEvents(_ store: any VigilStore) async throws {
        let hosts = ["web-01", "db-01", "web-01", "db-01", "web-01", "web-01", "db-01", "web-01"]
        let states: [LivenessState] = [.connected, .connected, .healthy, .healthy, .suspect, .down, .stopped, .recovered]
        var events: [LivenessEvent] = []
        for (i, host) in hosts.enumerated() {
            events.append(LivenessEvent(hostname: host, from: i < 2 ? nil : states[i - 1], to: states[i], reason: "e\(i + 1)", at: date(3000 + Double(i))))
        }
        let stored = try await store.append(events: events)
        #expect(stored.map(\.id) == [1, 2, 3, 4, 5, 6, 7, 8])
    }

    @Test("events are newest first, across hosts when no host is given", arguments: StoreBackend.allCases)
    func eventsAllNewestFirst(backend: StoreBackend) async throws {
        try await withStore(backend) { (store) async throws in
            try await self.seedEvents(store)
            let all = try await store.events(hostname: nil, limit: 100, before: nil)
            #expect(all.map(\.id) == [8, 7, 6, 5, 4, 3, 2, 1])
            #expect(all.map(\.reason) == ["e8", "e7", "e6", "e5", "e4", "e3", "e2", "e1"])
            #expect(all.first?.from == .stopped)
            #expect(all.first?.to == .recovered)
            #expect(all.last?.from == nil)
            #expect(all.last?.at == date(3000))
        }
    }

    @Test("events filter by host", arguments: StoreBackend.allCases)
    func eventsFilterByHost(backend: StoreBackend) async throws {
        try await withStore(backend) { (store) async throws in
            try await self.seedEvents(store)
            let web = try await store.events(hostname: "web-01", limit: 100, before: nil)
            #expect(web.map(\.id) == [8, 6, 5, 3, 1])
            #expect(web.allSatisfy { $0.hostname == "web-01" })
            let db = try await store.events(hostname: "db-01", limit: 100, before: nil)
            #expect(db.map(\.id) == [7, 4, 2])
            #expect(try await store.events(hostname: "nobody", limit: 100, before: nil) == [])
        }
    }

    @Test("events honour the limit", arguments: StoreBackend.allCases)
    func eventsLimit(backend: StoreBackend) async throws {
        try await withStore(backend) { (store) async throws in
            try await self.seedEvents(store)
            #expect(try await store.events(hostname: nil, limit: 3, before: nil).map(\.id) == [8, 7, 6])
            #expect(try await store.events(hostname: "db-01", limit: 1, before: nil).map(\.id) == [7])
            #expect(try await store.events(hostname: nil, limit: 0, before: nil) == [])
        }
    }

    /// The ids of each page when walking a host's history backwards with `before`.
    private func pageIDs(_ store: any VigilStore, hostname: String?, pageSize: Int) async throws -> [[Int64]] {
        var pages: [[Int64]] = []
        var before: Int64? = nil
        while pages.count <= 10 {
            let page = try await store.events(hostname: hostname, limit: pageSize, before: before)
            if page.isEmpty { break }
            pages.append(page.compactMap(\.id))
            before = page.last?.id
        }
        return pages
    }

    @Test("events paginate with before (exclusive)", arguments: StoreBackend.allCases)
    func eventsPaginate(backend: StoreBackend) async throws {
        try await withStore(backend) { (store) async throws in
            try await self.seedEvents(store)
            #expect(try await store.events(hostname: nil, limit: 100, before: 5).map(\.id) == [4, 3, 2, 1])
            #expect(try await store.events(hostname: nil, limit: 100, before: 1) == [])

            // Walk web-01's history two at a time.
            let pages = try await self.pageIDs(store, hostname: "web-01", pageSize: 2)
            #expect(pages == [[8, 6], [5, 3], [1]])
            #expect(try await self.pageIDs(store, hostname: nil, pageSize: 3) == [[8, 7, 6], [5, 4, 3], [2, 1]])

            // before and host combined.
            #expect(try await store.events(hostname: "db-01", limit: 100, before: 7).map(\.id) == [4, 2])
        }
    }

    // MARK: updateLastSeen

    @Test("updateLastSeen sets last_seen of known hosts only", arguments: StoreBackend.allCases)
    func updateLastSeen(backend: StoreBackend) async throws {
        try await withStore(backend) { (store) async throws in
            try await store.upsertAgent(self.record("web-01", lastSeen: nil))
            try await store.append(events: [LivenessEvent(hostname: "db-01", from: nil, to: .connected, reason: "r", at: date(10))])
            #expect(try await store.agent(hostname: "web-01")?.lastSeen == nil)
            #expect(try await store.agent(hostname: "db-01")?.lastSeen == nil)

            try await store.updateLastSeen(["web-01": date(1_700_000_900.5), "db-01": date(20.25), "ghost": date(30)])
            #expect(try await store.agent(hostname: "web-01")?.lastSeen == date(1_700_000_900.5))
            #expect(try await store.agent(hostname: "db-01")?.lastSeen == date(20.25))
            // No row is created for an unknown host.
            #expect(try await store.agent(hostname: "ghost") == nil)
            #expect(try await store.agents().map(\.hostname) == ["db-01", "web-01"])

            // Later flushes overwrite; other fields are untouched.
            try await store.updateLastSeen(["web-01": date(1_700_001_000)])
            var expected = self.record("web-01", lastSeen: nil)
            expected.lastSeen = date(1_700_001_000)
            #expect(try await store.agent(hostname: "web-01") == expected)
            #expect(try await store.agent(hostname: "db-01")?.lastSeen == date(20.25))

            try await store.updateLastSeen([:])
            #expect(try await store.agent(hostname: "web-01") == expected)
        }
    }

    // MARK: upsertAgent

    @Test("upsertAgent round trip with every field, including the capabilities array", arguments: StoreBackend.allCases)
    func upsertRoundTrip(backend: StoreBackend) async throws {
        try await withStore(backend) { (store) async throws in
            let record = self.record("web-01", capabilities: ["heartbeat", "files", "exec \"quoted\", ünïcode"])
            try await store.upsertAgent(record)
            let read = try #require(try await store.agent(hostname: "web-01"))
            #expect(read == record)
            #expect(read.capabilities == ["heartbeat", "files", "exec \"quoted\", ünïcode"])
            #expect(try await store.agents() == [record])
            #expect(try await store.agent(hostname: "web-02") == nil)
        }
    }

    @Test("upsertAgent round trip with every optional field nil and no capabilities", arguments: StoreBackend.allCases)
    func upsertRoundTripNils(backend: StoreBackend) async throws {
        try await withStore(backend) { (store) async throws in
            let record = self.record("bare", state: .stopped, lastSeen: nil, agentVersion: nil, protocolVersion: nil, capabilities: [], address: nil)
            try await store.upsertAgent(record)
            #expect(try await store.agent(hostname: "bare") == record)
        }
    }

    @Test("upsertAgent on an existing host replaces everything except first_seen", arguments: StoreBackend.allCases)
    func upsertReplaces(backend: StoreBackend) async throws {
        try await withStore(backend) { (store) async throws in
            try await store.upsertAgent(self.record("web-01"))
            let changed = self.record(
                "web-01", state: .recovered, stateSince: 1_700_000_700.5, firstSeen: 1_700_000_600,
                lastSeen: 1_700_000_800.125, agentVersion: "vigil-agent/0.2.0", protocolVersion: 2,
                capabilities: ["heartbeat"], address: "[2001:db8::1]:40001"
            )
            try await store.upsertAgent(changed)
            var expected = changed
            expected.firstSeen = date(1_700_000_000.25)
            #expect(try await store.agent(hostname: "web-01") == expected)
            #expect(try await store.agents().count == 1)
        }
    }

    @Test("agents are listed by hostname", arguments: [["c", "a", "b"], ["b", "c", "a"]], StoreBackend.allCases)
    func agentsOrdered(order: [String], backend: StoreBackend) async throws {
        try await withStore(backend) { (store) async throws in
            for name in order {
                try await store.upsertAgent(self.record(name))
            }
            #expect(try await store.agents().map(\.hostname) == ["a", "b", "c"])
        }
    }

    @Test("every liveness state survives the round trip", arguments: LivenessState.allCases, StoreBackend.allCases)
    func statesRoundTrip(state: LivenessState, backend: StoreBackend) async throws {
        try await withStore(backend) { (store) async throws in
            try await store.upsertAgent(self.record("h", state: state))
            #expect(try await store.agent(hostname: "h")?.state == state)
            let stored = try await store.append(events: [LivenessEvent(hostname: "h", from: state, to: state, reason: "same", at: date(1))])
            #expect(try await store.events(hostname: "h", limit: 1, before: nil) == stored)
        }
    }
}
