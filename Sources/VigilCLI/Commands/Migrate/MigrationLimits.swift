/// How much `vigil migrate` moves per statement (`--batch-size`, `--block-batch-size`): large
/// enough that round trips do not dominate, small enough that a statement stays well under
/// PostgreSQL's 65,535 bind parameters (rows are cut further to fit) and a few megabytes.
struct MigrationLimits: Sendable {
    /// Store rows, and rows of open metrics blocks, per read and per INSERT.
    var rowsPerBatch = 1_000
    /// Sealed metrics blocks (a few kilobytes each) per read and per INSERT.
    var blocksPerBatch = 200
}

extension MigrationLimits {
    /// How often a long table or history prints how far it got.
    static let progressInterval: Duration = .seconds(2)
}
