extension StoreTable {
    /// People, their sessions and refresh-token digests (parents first: the foreign keys).
    package static let users: [StoreTable] = [
        StoreTable("users", key: "name", [
            .init("name", .text), .init("role", .text), .init("password_hash", .text),
            .init("created_at", .real), .init("updated_at", .real),
        ]),
        StoreTable("user_sessions", key: "id", [
            .init("id", .text), .init("user_name", .text), .init("created_at", .real),
            .init("expires_at", .real), .init("ended_at", .real),
        ]),
        StoreTable("refresh_tokens", key: "digest", [
            .init("digest", .blob), .init("session_id", .text), .init("issued_at", .real), .init("spent_at", .real),
        ]),
    ]
}
