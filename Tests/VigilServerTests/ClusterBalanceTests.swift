import Foundation
import Testing
import VigilPostgres
@testable import VigilServer

@Suite("Cluster load sharing: redirects and shedding")
struct ClusterBalanceTests {
    private func member(_ id: String, load: Int, capacity: Int = 0) -> ClusterMember {
        ClusterMember(id: id, agentAddress: "\(id):5001", httpAddress: "\(id):5000", load: load, capacity: capacity, startedAt: Date(timeIntervalSince1970: 0))
    }

    @Test("below its capacity, or with no capacity set, a member takes every new agent")
    func noRedirectBelowCapacity() {
        let balance = ClusterBalance(members: [self.member("a", load: 5, capacity: 10), self.member("b", load: 0, capacity: 10)], me: "a", tolerance: 0.1)
        #expect(balance.redirectTarget(load: 9, capacity: 10) == nil)
        #expect(balance.redirectTarget(load: 500, capacity: 0) == nil)
        #expect(balance.redirectTarget(load: 10, capacity: 10)?.id == "b")
    }

    @Test("at capacity a new agent goes to the least-loaded member with room; agents already sent count as its load")
    func redirectsToTheLeastLoadedWithRoom() {
        let members = [self.member("a", load: 10, capacity: 10), self.member("b", load: 4, capacity: 5), self.member("c", load: 6, capacity: 20)]
        let balance = ClusterBalance(members: members, me: "a", tolerance: 0.1)
        // b is at 80 %, c at 30 %: c.
        #expect(balance.redirectTarget(load: 10, capacity: 10)?.id == "c")
        // c full with what was sent since the rows were read: b, which still has one place.
        #expect(balance.redirectTarget(load: 10, capacity: 10, pending: ["c": 14])?.id == "b")
        // Nobody has room: this member takes the agent itself.
        #expect(balance.redirectTarget(load: 10, capacity: 10, pending: ["c": 14, "b": 1]) == nil)
    }

    @Test("only the most loaded member sheds, toward the least loaded, bringing the pair level, at most the limit")
    func shedsFromTheMostLoaded() throws {
        let members = [self.member("a", load: 100), self.member("b", load: 0), self.member("c", load: 40)]
        let a = ClusterBalance(members: members, me: "a", tolerance: 0.1)
        let plan = try #require(a.shedding(load: 100, limit: 1000))
        #expect(plan.target.id == "b")
        #expect(plan.count == 50)
        #expect(a.shedding(load: 100, limit: 20)?.count == 20)
        // c is not the most loaded: it waits.
        #expect(ClusterBalance(members: members, me: "c", tolerance: 0.1).shedding(load: 40, limit: 1000) == nil)
        #expect(a.shedding(load: 100, limit: 0) == nil)
    }

    @Test("loads within the tolerance stay put; one agent more is no reason to move one")
    func withinToleranceNoShedding() {
        let members = [self.member("a", load: 105), self.member("b", load: 100)]
        #expect(ClusterBalance(members: members, me: "a", tolerance: 0.1).shedding(load: 105, limit: 100) == nil)
        #expect(ClusterBalance(members: members, me: "a", tolerance: 0.1).shedding(load: 112, limit: 100)?.count == 6)
        let small = [self.member("a", load: 2), self.member("b", load: 1)]
        #expect(ClusterBalance(members: small, me: "a", tolerance: 0.1).shedding(load: 2, limit: 100) == nil)
    }

    @Test("with every capacity stated, loads compare per capacity: a member twice the size takes twice the agents")
    func sheddingFollowsCapacities() throws {
        let members = [self.member("small", load: 60, capacity: 100), self.member("big", load: 30, capacity: 200)]
        let plan = try #require(ClusterBalance(members: members, me: "small", tolerance: 0.1).shedding(load: 60, limit: 1000))
        #expect(plan.target.id == "big")
        // 30 / 100 == 60 / 200.
        #expect(plan.count == 30)
        #expect(ClusterBalance(members: [self.member("small", load: 30, capacity: 100), self.member("big", load: 60, capacity: 200)], me: "big", tolerance: 0.1)
            .shedding(load: 60, limit: 1000) == nil)
    }

    @Test("a member never sheds more agents than the target has room for, nor to a full member")
    func sheddingRespectsTheTargetsCapacity() {
        // a states no capacity, so loads compare as counts: level would be 27 each way, b has room for 5.
        let members = [self.member("a", load: 100), self.member("b", load: 45, capacity: 50)]
        #expect(ClusterBalance(members: members, me: "a", tolerance: 0.1).shedding(load: 100, limit: 1000)?.count == 5)
        let full = [self.member("a", load: 100), self.member("b", load: 50, capacity: 50)]
        #expect(ClusterBalance(members: full, me: "a", tolerance: 0.1).shedding(load: 100, limit: 1000) == nil)
    }

    @Test("equal loads: nobody sheds; ties for the most loaded go to the highest id, so two members never shed at once")
    func tiesAreBrokenOneWay() {
        let members = [self.member("a", load: 50), self.member("b", load: 50), self.member("c", load: 10)]
        let fromA = ClusterBalance(members: members, me: "a", tolerance: 0.1).shedding(load: 50, limit: 100)
        let fromB = ClusterBalance(members: members, me: "b", tolerance: 0.1).shedding(load: 50, limit: 100)
        #expect(fromA == nil)
        #expect(fromB?.target.id == "c")
        #expect(fromB?.count == 20)
        let level = [self.member("a", load: 50), self.member("b", load: 50)]
        #expect(ClusterBalance(members: level, me: "b", tolerance: 0.1).shedding(load: 50, limit: 100) == nil)
    }
}
