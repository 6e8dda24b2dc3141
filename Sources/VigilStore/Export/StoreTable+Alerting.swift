extension StoreTable {
    /// Alert rules made through the API, alert occurrences (open and resolved, with what was
    /// notified), silences and the notification outbox (pending deliveries included).
    package static let alerting: [StoreTable] = [
        StoreTable("alert_rules", key: "name", [
            .init("name", .text), .init("body", .text), .init("created_by", .text), .init("updated_at", .real),
        ]),
        StoreTable("alerts", key: "id", drawsIDs: true, [
            .init("id", .integer), .init("fingerprint", .text), .init("rule", .text), .init("kind", .text),
            .init("severity", .text), .init("hostname", .text), .init("series", .text), .init("key", .text),
            .init("status", .text), .init("value", .real), .init("threshold", .real), .init("summary", .text),
            .init("labels", .text), .init("top_processes", .text), .init("started_at", .real), .init("fired_at", .real),
            .init("resolved_at", .real), .init("acknowledged_by", .text), .init("acknowledged_at", .real),
            .init("acknowledge_comment", .text), .init("notified_status", .text), .init("last_notified_at", .real),
        ]),
        StoreTable("silences", key: "id", [
            .init("id", .text), .init("body", .text), .init("ends_at", .real),
        ]),
        StoreTable("notifications", key: "id", [
            .init("id", .text), .init("channel", .text), .init("body", .blob), .init("state", .text),
            .init("attempts", .integer), .init("next_attempt_at", .real), .init("last_error", .text),
            .init("created_at", .real), .init("updated_at", .real), .init("delivered_at", .real),
        ]),
    ]
}
