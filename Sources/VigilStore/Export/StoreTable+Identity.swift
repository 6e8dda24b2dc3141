extension StoreTable {
    /// The database's id (`server_id`) and the token-signing secret (`token_signing_secret`):
    /// copied, so access and refresh tokens issued before the move stay valid.
    package static let identity: [StoreTable] = [
        StoreTable("meta", key: "key", [.init("key", .text), .init("value", .text)]),
    ]
}
