import Testing
@testable import VigilPostgres

@Suite("PostgreSQL advisory lock keys")
struct AdvisoryLockTests {
    @Test("every purpose has its own key (the leader's session lock once shared the partition lock's key and blocked every metrics write)")
    func distinct() {
        let keys = [AdvisoryLock.migration, AdvisoryLock.messageOrder, AdvisoryLock.metricsPartitions, AdvisoryLock.leader,
                    PostgresStore.migrationLock, PostgresStore.messageOrderLock, PostgresMetricsStore.partitionLock, LeaderElection.leaderLock]
        #expect(Set(keys).count == 4)
        #expect(Set([PostgresStore.migrationLock, PostgresStore.messageOrderLock, PostgresMetricsStore.partitionLock, LeaderElection.leaderLock]).count == 4)
    }
}
