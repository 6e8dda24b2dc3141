import Foundation
import Testing
@testable import VigilServer

/// `cluster.discovery*`: parsed from the environment (and so from a file or flags alike), checked at start.
@Suite("Discovery settings")
struct DiscoverySettingsTests {
    static let postgres = ["VIGIL_STORE_BACKEND": "postgres", "VIGIL_STORE_POSTGRES_URL": "postgres://vigil@localhost:5432/vigil"]

    @Test("off by default, with the documented defaults")
    func defaults() async throws {
        let settings = try await ServerSettings.load(environment: [:]).cluster.discovery
        #expect(!settings.enabled)
        #expect(settings.port == 5007)
        #expect(settings.group == "239.255.255.250")
        #expect(settings.interface == "0.0.0.0")
        #expect(settings.maxDatagramBytes == 4096)
        #expect(settings.maxRepliesPerSecond == 1000)
        #expect(settings.logInterval == .seconds(10))
    }

    @Test("every key is read")
    func everyKey() async throws {
        let settings = try await ServerSettings.load(environment: Self.postgres.merging([
            "VIGIL_CLUSTER_DISCOVERY": "true", "VIGIL_CLUSTER_DISCOVERY_PORT": "6007", "VIGIL_CLUSTER_DISCOVERY_GROUP": "239.1.2.3",
            "VIGIL_CLUSTER_DISCOVERY_INTERFACE": "127.0.0.1", "VIGIL_CLUSTER_DISCOVERY_MAX_DATAGRAM_BYTES": "1024",
            "VIGIL_CLUSTER_DISCOVERY_MAX_REPLIES_PER_SECOND": "50", "VIGIL_CLUSTER_DISCOVERY_LOG_INTERVAL": "1m",
        ]) { $1 }).cluster.discovery
        #expect(settings.enabled)
        #expect(settings.port == 6007)
        #expect(settings.group == "239.1.2.3")
        #expect(settings.interface == "127.0.0.1")
        #expect(settings.maxDatagramBytes == 1024)
        #expect(settings.maxRepliesPerSecond == 50)
        #expect(settings.logInterval == .seconds(60))
    }

    @Test("refused at start, naming the key: port out of range, a group that is not IPv4 multicast, an interface that is not an IPv4 address, discovery without PostgreSQL, tiny or huge limits")
    func refusals() async throws {
        for (key, value) in [
            ("VIGIL_CLUSTER_DISCOVERY_PORT", "0"), ("VIGIL_CLUSTER_DISCOVERY_PORT", "65536"),
            ("VIGIL_CLUSTER_DISCOVERY_GROUP", "192.168.1.1"), ("VIGIL_CLUSTER_DISCOVERY_GROUP", "ff02::1"), ("VIGIL_CLUSTER_DISCOVERY_GROUP", "all-servers"),
            ("VIGIL_CLUSTER_DISCOVERY_INTERFACE", "eth0"), ("VIGIL_CLUSTER_DISCOVERY_INTERFACE", "::1"),
            ("VIGIL_CLUSTER_DISCOVERY_MAX_DATAGRAM_BYTES", "10"), ("VIGIL_CLUSTER_DISCOVERY_MAX_DATAGRAM_BYTES", "70000"),
            ("VIGIL_CLUSTER_DISCOVERY_MAX_REPLIES_PER_SECOND", "0"), ("VIGIL_CLUSTER_DISCOVERY_LOG_INTERVAL", "1ms"),
        ] {
            let environment = Self.postgres.merging(["VIGIL_CLUSTER_DISCOVERY": "true", key: value]) { $1 }
            let error = await #expect(throws: ConfigurationError.self, "\(key)=\(value)") { try await ServerSettings.load(environment: environment) }
            let name = key.dropFirst("VIGIL_".count).lowercased().replacingOccurrences(of: "cluster_", with: "cluster.")
            #expect(error?.description.contains(name) == true, "\(key)=\(value): \(error?.description ?? "-")")
        }
        let single = await #expect(throws: ConfigurationError.self) { try await ServerSettings.load(environment: ["VIGIL_CLUSTER_DISCOVERY": "true"]) }
        #expect(single?.description.contains("store.backend postgres") == true)
        // Off, the other keys are not checked against the store.
        _ = try await ServerSettings.load(environment: ["VIGIL_CLUSTER_DISCOVERY_GROUP": "239.0.0.1"])
    }
}
