/// Every PostgreSQL advisory lock key Vigil takes, in one place so no two purposes share a key
/// (a shared key makes one wait for the other: the leader's session lock once blocked every
/// partition creation). Keys are "VIGIL" in the high bytes and a purpose number.
enum AdvisoryLock {
    /// Schema migrations, so servers starting together migrate once (transaction lock).
    static let migration: Int64 = 0x5649_4749_4C00_0001
    /// Message writes, so row ids (delivery cursors) commit in id order (transaction lock).
    static let messageOrder: Int64 = 0x5649_4749_4C00_0002
    /// Creating and dropping metrics partitions (transaction lock).
    static let metricsPartitions: Int64 = 0x5649_4749_4C00_0003
    /// The cluster's leader: held on the leader's own session for as long as it leads.
    static let leader: Int64 = 0x5649_4749_4C00_0010
}
