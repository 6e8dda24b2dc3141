import NIOCore
import Testing
@testable import VigilServer

@Suite("Plaintext policy")
struct PlaintextPolicyTests {
    private func address(_ ip: String) throws -> SocketAddress { try SocketAddress(ipAddress: ip, port: 5001) }

    @Test("loopback: 127/8, ::1 and IPv4-mapped loopback; nothing else")
    func loopback() throws {
        let policy = PlaintextPolicy.loopback
        for ip in ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"] {
            #expect(policy.allows(try self.address(ip)), "\(ip)")
        }
        for ip in ["10.0.0.1", "128.0.0.1", "::2", "::ffff:10.0.0.1", "fe80::1"] {
            #expect(!policy.allows(try self.address(ip)), "\(ip)")
        }
        #expect(!policy.allows(nil))
    }

    @Test("never refuses even loopback; CIDR blocks add networks to loopback")
    func networks() throws {
        #expect(!PlaintextPolicy.never.allows(try self.address("127.0.0.1")))
        let policy = try #require(PlaintextPolicy(parsing: "10.0.0.0/8, 192.168.1.7, fd00::/8"))
        for ip in ["10.1.2.3", "::ffff:10.9.9.9", "192.168.1.7", "fd12::1", "127.0.0.1"] {
            #expect(policy.allows(try self.address(ip)), "\(ip)")
        }
        for ip in ["11.0.0.1", "192.168.1.8", "fe80::1"] {
            #expect(!policy.allows(try self.address(ip)), "\(ip)")
        }
        #expect(policy.description == "10.0.0.0/8,192.168.1.7/32,fd00:0:0:0:0:0:0:0/8")
    }

    @Test("bad values do not parse", arguments: ["", "sometimes", "10.0.0.0/33", "fd00::/129", "10.0.0/8", "10.0.0.0/-1", "::/x"])
    func badValues(text: String) {
        #expect(PlaintextPolicy(parsing: text) == nil)
    }
}
