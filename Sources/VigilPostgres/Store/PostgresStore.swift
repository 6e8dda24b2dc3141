import Foundation
import Logging
import NIOCore
import PostgresNIO
import VigilStore

/// The store on PostgreSQL: every ``VigilStore`` protocol, for several servers sharing one database.
///
/// A `PostgresClient` pool runs for the store's lifetime (``connect(_:logger:)`` starts it,
/// ``close()`` ends it). Each method is one statement or one transaction; writes that must be seen
/// in one order by every server (message ids, which are delivery cursors) serialise on an advisory
/// transaction lock rather than trust that identity values commit in the order they were drawn.
public final class PostgresStore: VigilStore {
    let client: PostgresClient
    let logger: Logger
    public let settings: PostgresStoreSettings
    private let runner: Task<Void, Never>

    private init(client: PostgresClient, settings: PostgresStoreSettings, logger: Logger, runner: Task<Void, Never>) {
        self.client = client
        self.settings = settings
        self.logger = logger
        self.runner = runner
    }

    /// Connects, checks the server answers, and migrates the schema (under an advisory lock, so
    /// servers starting together migrate once).
    public static func connect(_ settings: PostgresStoreSettings, logger: Logger) async throws -> PostgresStore {
        // The pool logs every failed connection attempt at info, also those it cancels itself at
        // close; the store reports an unreachable database through its callers' errors instead.
        var poolLogger = logger
        poolLogger.logLevel = max(logger.logLevel, .warning)
        let client = PostgresClient(configuration: Self.configuration(settings), backgroundLogger: poolLogger)
        let runner = Task { await client.run() }
        let store = PostgresStore(client: client, settings: settings, logger: logger, runner: runner)
        do {
            try await store.migrate()
        } catch {
            runner.cancel()
            throw error
        }
        return store
    }

    /// Ends the connection pool.
    public func close() async {
        self.runner.cancel()
        _ = await self.runner.result
    }

    static func configuration(_ settings: PostgresStoreSettings) -> PostgresClient.Configuration {
        let tls: PostgresClient.Configuration.TLS
        switch settings.tls {
        case .disable: tls = .disable
        case .prefer: tls = .prefer(.makeClientConfiguration())
        case .require: tls = .require(.makeClientConfiguration())
        }
        var configuration = PostgresClient.Configuration(
            host: settings.host, port: settings.port, username: settings.user,
            password: settings.password, database: settings.database, tls: tls
        )
        configuration.options.maximumConnections = settings.maxConnections
        configuration.options.connectTimeout = settings.connectTimeout
        // A connection to a dead server must not hang a request for minutes.
        configuration.options.keepAliveBehavior = .init(frequency: .seconds(10))
        return configuration
    }

    // MARK: Schema

    /// Applies the migrations not yet applied, in one transaction holding an advisory lock.
    func migrate() async throws {
        try await self.transaction { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.migrationLock))", logger: self.logger)
            try await connection.query(
                "CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, applied_at double precision NOT NULL)",
                logger: self.logger)
            var applied: Set<String> = []
            for try await name in try await connection.query("SELECT name FROM schema_migrations", logger: self.logger).decode(String.self) {
                applied.insert(name)
            }
            for migration in PostgresSchema.migrations + PostgresSchema.clusterMigrations where !applied.contains(migration.name) {
                for statement in Self.statements(migration.sql) {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: self.logger)
                }
                try await connection.query(
                    "INSERT INTO schema_migrations(name, applied_at) VALUES (\(migration.name), \(Date().timeIntervalSince1970))",
                    logger: self.logger)
                self.logger.info("postgres schema migrated", metadata: ["migration": "\(migration.name)"])
            }
        }
    }

    /// The statements of a migration (the extended protocol takes one at a time).
    static func statements(_ sql: String) -> [String] {
        sql.components(separatedBy: ";\n").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            .map { $0.hasSuffix(";") ? String($0.dropLast()) : $0 }
            .filter { !$0.isEmpty }
    }

    /// Advisory lock keys (``AdvisoryLock``), shared by every server on the database.
    static var migrationLock: Int64 { AdvisoryLock.migration }
    static var messageOrderLock: Int64 { AdvisoryLock.messageOrder }

    // MARK: Identity

    public func serverID() async throws -> String {
        // The database's id, made by whichever server comes first; in a cluster each member also
        // has an id of its own, its member id.
        let id = UUID().uuidString.lowercased()
        try await self.client.query("INSERT INTO meta(key, value) VALUES ('server_id', \(id)) ON CONFLICT (key) DO NOTHING", logger: self.logger)
        let rows = try await self.client.query("SELECT value FROM meta WHERE key = 'server_id'", logger: self.logger)
        for try await value in rows.decode(String.self) { return value }
        return id
    }
}
