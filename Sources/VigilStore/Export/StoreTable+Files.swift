extension StoreTable {
    /// The file catalog. The bytes stay where they are (`files.directory`, relative paths): the
    /// servers on PostgreSQL must be given that directory (docs/OPERATIONS.md §15).
    package static let files: [StoreTable] = [
        StoreTable("files", key: "id", [
            .init("id", .text), .init("transfer_id", .text), .init("sender", .text), .init("recipient", .text),
            .init("filename", .text), .init("stored_path", .text), .init("size", .integer), .init("sha256", .text),
            .init("created_at", .real),
        ]),
    ]
}
