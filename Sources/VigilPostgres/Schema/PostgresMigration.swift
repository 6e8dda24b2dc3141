/// One step of the PostgreSQL schema. Never edit a shipped migration: append a new one.
struct PostgresMigration: Sendable {
    let name: String
    let sql: String
}
