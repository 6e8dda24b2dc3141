extension StoreTable {
    /// Agent keys, as digests (the secrets were never stored): every agent's key keeps working.
    package static let keys: [StoreTable] = [
        StoreTable("agent_keys", key: "id", [
            .init("id", .text), .init("hostname", .text), .init("secret_digest", .blob),
            .init("created_at", .real), .init("revoked_at", .real), .init("last_used_at", .real),
        ]),
    ]
}
