import Foundation
import Logging
import Testing
import VigilLocalPostgres
import VigilPostgres
import VigilStore

/// Leader election and membership on a real PostgreSQL: one leader at a time, a crashed leader
/// replaced within one round, a hung one after its lease, and a deposed leader's epoch refused.
@Suite("Cluster on PostgreSQL: leader election and membership", .postgres)
struct LeaderElectionTests {
    private func withDatabase(_ body: (PostgresStore, PostgresStoreSettings) async throws -> Void) async throws {
        guard let server = PostgresServerTrait.server else {
            print("SKIPPED (postgres): \(PostgresServerTrait.unavailableReason ?? "no PostgreSQL server")")
            return
        }
        let database = "cluster_\(UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: ""))"
        try await server.createDatabase(database)
        let settings = try PostgresStoreSettings(url: server.url(database: database) + "?sslmode=disable")
        let store = try await PostgresStore.connect(settings, logger: Logger(label: "test.cluster"))
        do {
            try await body(store, settings)
        } catch {
            await store.close()
            throw error
        }
        await store.close()
    }

    private func election(_ store: PostgresStore, _ id: String, lease: Duration = .seconds(3)) -> LeaderElection {
        LeaderElection(store: store, memberID: id, lease: lease, logger: Logger(label: "test.election.\(id)"))
    }

    @Test("of three servers exactly one leads, at epoch 1; the others stay followers round after round")
    func oneLeader() async throws {
        try await withDatabase { (store, settings) async throws in
            let elections = ["a", "b", "c"].map { self.election(store, $0) }
            for _ in 0..<3 {
                for election in elections { await election.step() }
            }
            var leaders: [Int64] = []
            for election in elections {
                if case .leader(let epoch) = await election.role { leaders.append(epoch) }
            }
            #expect(leaders == [1])
            #expect(try await store.leader()?.memberID == "a")
            for election in elections { await election.resign() }
        }
    }

    @Test("a crashed leader (its session gone) is replaced in the next round, with the next epoch; its epoch is refused")
    func crashedLeader() async throws {
        try await withDatabase { (store, settings) async throws in
            let a = self.election(store, "a")
            let b = self.election(store, "b")
            #expect(await a.step() == .leader(epoch: 1))
            #expect(await b.step() == .follower)
            #expect(try await store.isCurrentEpoch(1))

            await a.abandon()  // as kill -9 would: the connection closes, PostgreSQL releases the lock
            let started = ContinuousClock.now
            var role = LeaderElection.Role.follower
            while role == .follower, ContinuousClock.now - started < .seconds(5) {
                role = await b.step()
                if role == .follower { try await Task.sleep(for: .milliseconds(20)) }
            }
            #expect(role == .leader(epoch: 2))
            #expect(try await store.leader()?.memberID == "b")
            #expect(try await !store.isCurrentEpoch(1))
            await b.resign()
        }
    }

    @Test("a hung leader (connected, not renewing) loses the lock once its lease is overdue; when it wakes it is a follower")
    func hungLeader() async throws {
        try await withDatabase { (store, settings) async throws in
            // a's lease is short (it hangs); b's is long, so b stays leader while this test does not step it.
            let a = self.election(store, "a", lease: .milliseconds(600))
            let b = self.election(store, "b", lease: .seconds(30))
            #expect(await a.step() == .leader(epoch: 1))
            // a stops stepping (hung); b keeps trying.
            let started = ContinuousClock.now
            var role = LeaderElection.Role.follower
            while role == .follower, ContinuousClock.now - started < .seconds(10) {
                role = await b.step()
                if role == .follower { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(role == .leader(epoch: 2))
            #expect(ContinuousClock.now - started >= .milliseconds(500), "not before the lease ran out")
            // a wakes up: its session was ended, so it is not the leader any more.
            #expect(await a.step() == .follower)
            #expect(await b.step() == .leader(epoch: 2))
            await a.resign()
            await b.resign()
        }
    }

    @Test("a member is live while it beats, and dead once silent for the timeout (on the database's clock)")
    func membership() async throws {
        try await withDatabase { (store, _) async throws in
            let started = Date()
            try await store.beat(ClusterMember(id: "a", agentAddress: "10.0.0.1:5001", httpAddress: "10.0.0.1:5000", load: 3, capacity: 100, startedAt: started))
            try await store.beat(ClusterMember(id: "b", agentAddress: "10.0.0.2:5001", httpAddress: "10.0.0.2:5000", load: 5, capacity: 0, startedAt: started))
            let live = try await store.liveMembers(timeout: .seconds(3))
            #expect(live.map(\.id) == ["a", "b"])
            #expect(live.first?.load == 3)
            #expect(live.first?.agentAddress == "10.0.0.1:5001")
            try await Task.sleep(for: .milliseconds(700))
            try await store.beat(ClusterMember(id: "a", agentAddress: "10.0.0.1:5001", httpAddress: "10.0.0.1:5000", load: 4, capacity: 100, startedAt: started))
            let later = try await store.liveMembers(timeout: .milliseconds(500))
            #expect(later.map(\.id) == ["a"])
            #expect(later.first?.load == 4)
            try await store.leave(memberID: "a")
            #expect(try await store.liveMembers(timeout: .seconds(3)).map(\.id) == ["b"])
        }
    }

    @Test("hosts of a dead member are declared DOWN once, after the grace; those another member claimed, or already stopped, are not")
    func orphansDeclaredDownOnce() async throws {
        try await withDatabase { (store, _) async throws in
            let now = Date()
            for host in ["web-1", "web-2", "db-1", "gone-1"] {
                try await store.upsertAgent(AgentRecord(hostname: host, state: host == "gone-1" ? .stopped : .healthy, stateSince: now, firstSeen: now,
                                                        lastSeen: now, agentVersion: nil, protocolVersion: 1, capabilities: [], address: nil))
            }
            // a holds them, then dies; a host whose row is not written yet is not claimed (the member tries again).
            #expect(try await store.claimAgents(["web-1", "web-2", "gone-1", "not-yet-recorded"], memberID: "a") == ["web-1", "web-2", "gone-1"])
            try await store.claimAgents(["db-1"], memberID: "b")
            #expect(try await store.agentsOwned(by: "a") == ["web-1", "web-2", "gone-1"])
            // Within the grace: nothing yet.
            #expect(try await store.declareOrphansDown(liveMembers: ["b"], grace: .seconds(30), excluding: [], reason: "test", at: now).isEmpty)
            try await Task.sleep(for: .milliseconds(400))
            // web-2 reconnected to b meanwhile.
            try await store.claimAgents(["web-2"], memberID: "b")
            let down = try await store.declareOrphansDown(liveMembers: ["b"], grace: .milliseconds(300), excluding: [], reason: "its server died", at: now)
            #expect(down.map(\.hostname) == ["web-1"])
            #expect(down.first?.to == .down)
            #expect(down.first?.from == .healthy)
            #expect(try await store.agent(hostname: "web-1")?.state == .down)
            #expect(try await store.events(hostname: "web-1", limit: 10, before: nil).map(\.reason) == ["its server died"])
            // Never twice.
            #expect(try await store.declareOrphansDown(liveMembers: ["b"], grace: .milliseconds(300), excluding: [], reason: "again", at: now).isEmpty)
        }
    }

}
