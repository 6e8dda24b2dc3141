extension StoreTable {
    /// Messages with their ids (the global delivery order: mailboxes' cursors point at them) and
    /// the mailboxes with their cursors, so no client gets a message twice or misses one.
    package static let messages: [StoreTable] = [
        StoreTable("messages", key: "id", drawsIDs: true, [
            .init("id", .integer), .init("message_id", .text), .init("sender", .text), .init("recipient", .text),
            .init("content", .text), .init("seq", .integer), .init("kind", .text), .init("sent_at", .real),
            .init("stored_at", .real),
        ]),
        StoreTable("mailboxes", key: "client_id", [
            .init("client_id", .text), .init("kind", .text), .init("delivered_through", .integer), .init("first_id", .integer),
            .init("notices", .boolean), .init("created_at", .real), .init("last_seen", .real),
        ]),
    ]
}
