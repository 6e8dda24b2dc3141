extension StoreTable {
    /// Known hosts and their liveness history (event ids are the API's paging cursors).
    package static let agents: [StoreTable] = [
        StoreTable("agents", key: "hostname", [
            .init("hostname", .text), .init("state", .text), .init("state_since", .real), .init("first_seen", .real),
            .init("last_seen", .real), .init("agent_version", .text), .init("protocol_version", .integer),
            .init("capabilities", .text), .init("address", .text),
        ]),
        StoreTable("liveness_events", key: "id", drawsIDs: true, [
            .init("id", .integer), .init("hostname", .text), .init("from_state", .text), .init("to_state", .text),
            .init("reason", .text), .init("at", .real),
        ]),
    ]
}
