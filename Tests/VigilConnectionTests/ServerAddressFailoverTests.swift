import Testing
import VigilConnection

@Suite("Server lists and failover")
struct ServerAddressFailoverTests {
    private let a = ServerAddress(host: "a", port: 5001)
    private let b = ServerAddress(host: "b", port: 5001)
    private let c = ServerAddress(host: "c", port: 5002)

    @Test("configured servers first, then the learned ones, each once")
    func candidates() {
        #expect(ServerAddress.candidates(configured: [self.a], learned: [self.a, self.b, self.c]) == [self.a, self.b, self.c])
        #expect(ServerAddress.candidates(configured: [self.c, self.a], learned: [self.b, self.c]) == [self.c, self.a, self.b])
        #expect(ServerAddress.candidates(configured: [self.a], learned: []) == [self.a])
    }

    @Test("failover goes to another server, never the one that ended; with one server, to it")
    func failover() {
        let servers = [self.a, self.b, self.c]
        var chosen: Set<Int> = []
        for _ in 0..<200 { chosen.insert(ServerAddress.failoverIndex(after: self.a, in: servers)) }
        #expect(chosen == [1, 2])
        #expect(ServerAddress.failoverIndex(after: self.a, in: [self.a]) == 0)
    }
}
