import Testing
@testable import VigilServer

/// `cluster.relay_*`: the defaults, read from the environment, and a payload PostgreSQL would refuse refused at start.
@Suite("Live relay settings")
struct LiveRelaySettingsTests {
    @Test("defaults under PostgreSQL's limit; each key read; a payload of 8000 bytes or a zero flush interval refused")
    func keys() async throws {
        let defaults = try await ServerSettings.load(environment: [:]).cluster.relay
        #expect(defaults == LiveRelaySettings())
        #expect(defaults.payloadBytes < 8000)
        let set = try await ServerSettings.load(environment: [
            "VIGIL_CLUSTER_RELAY_FLUSH_INTERVAL": "250ms",
            "VIGIL_CLUSTER_RELAY_PAYLOAD_BYTES": "4000",
            "VIGIL_CLUSTER_RELAY_MAX_PENDING": "77",
            "VIGIL_CLUSTER_RELAY_MAX_PAYLOADS_PER_STATEMENT": "9",
            "VIGIL_CLUSTER_RELAY_RECEIVE_BUFFER": "55",
        ]).cluster.relay
        #expect(set.flushInterval == .milliseconds(250))
        #expect(set.payloadBytes == 4000)
        #expect(set.maxPending == 77)
        #expect(set.maxPayloadsPerStatement == 9)
        #expect(set.receiveBuffer == 55)
        await #expect(throws: ConfigurationError.self) { try await ServerSettings.load(environment: ["VIGIL_CLUSTER_RELAY_PAYLOAD_BYTES": "8000"]) }
        await #expect(throws: ConfigurationError.self) { try await ServerSettings.load(environment: ["VIGIL_CLUSTER_RELAY_FLUSH_INTERVAL": "0s"]) }
    }
}
