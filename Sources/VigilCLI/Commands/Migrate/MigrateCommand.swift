import ArgumentParser
import Foundation
import Logging
import VigilPostgres
import VigilServer
import VigilStore

/// `vigil migrate --to postgres://…`: copies a SQLite data directory into an empty PostgreSQL
/// database and verifies the copy, table by table and host by host.
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Copy a SQLite data directory into an empty PostgreSQL database, then verify the counts.",
        discussion: """
        Copies everything the server stores: the database id and token-signing secret, agent keys \
        (as digests), agents and liveness events, users, sessions and refresh tokens, messages (with \
        their ids) and mailboxes with their cursors, the file catalog, alert rules, alerts, silences \
        and the notification outbox, and the metrics history (blocks as stored, open blocks, \
        rollups, latest documents). The server must be stopped; the SQLite files are only read. \
        The password comes from --password-file or VIGIL_STORE_POSTGRES_PASSWORD, never from the URL.

        Exit codes: 0 copied and verified; 1 refused or failed (server running, target not empty, \
        database unreachable); 2 copied but the verification found a difference; 64 bad usage.
        """
    )

    @Option(name: .customLong("to"), help: "The target: postgres://USER@HOST:PORT/DATABASE[?sslmode=disable|prefer|require] (no password in it).")
    var target: String

    @Option(help: "A YAML config file (also VIGIL_CONFIG): the data directory is the server's data_dir.")
    var config: String?

    @Option(help: "The SQLite data directory (data_dir); default: the server's.")
    var dataDir: String?

    @Option(help: "A file whose first line is the PostgreSQL password (else VIGIL_STORE_POSTGRES_PASSWORD).")
    var passwordFile: String?

    @Option(help: "Rows read from SQLite and written per statement (store tables, open metrics blocks).")
    var batchSize: Int = MigrationLimits().rowsPerBatch

    @Option(help: "Sealed metrics blocks read and written per statement.")
    var blockBatchSize: Int = MigrationLimits().blocksPerBatch

    func validate() throws {
        guard self.batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
        guard self.blockBatchSize >= 1 else { throw ValidationError("--block-batch-size must be at least 1") }
    }

    func run() async throws {
        let settings = try MigrationTarget.settings(url: self.target, passwordFile: self.passwordFile)
        let directory = try await self.dataDirectory()
        let limits = MigrationLimits(rowsPerBatch: self.batchSize, blocksPerBatch: self.blockBatchSize)
        let output = MigrationOutput()

        // The server must not write while the copy reads: its lock says whether one runs, and
        // holding it keeps one from starting until the copy is done.
        umask(0o077)
        let lock: DataDirectoryLock
        do {
            guard FileManager.default.fileExists(atPath: directory.appendingPathComponent(SQLiteStore.fileName).path) else {
                throw DataDirectoryError("no store in \(directory.path): \(SQLiteStore.fileName) is missing (is --data-dir the server's data_dir?)")
            }
            if let pid = DataDirectoryLock.runningServer(in: directory) {
                throw DataDirectoryError("a Vigil server (pid \(pid)) is running on \(directory.path): stop it first; the copy must see the store at rest")
            }
            lock = try DataDirectoryLock.acquire(in: directory)
        } catch let error as DataDirectoryError {
            throw output.failure(error.description)
        }
        defer { withExtendedLifetime(lock) {} }

        let source: MigrationSource
        do {
            source = try MigrationSource(directory: directory)
        } catch {
            throw output.failure("cannot read \(directory.path): \(error)")
        }

        var logger = Logger(label: "vigil.migrate")
        logger.logLevel = .warning
        let store: PostgresStore
        do {
            store = try await PostgresStore.connect(settings, logger: logger)
        } catch {
            throw output.failure("cannot reach \(settings.redactedURL): \(String(reflecting: error))")
        }
        let metrics = PostgresMetricsStore(store: store)
        do {
            let holding = try await store.tablesHoldingRows(StoreTable.all)
            guard holding.isEmpty else {
                await store.close()
                throw output.failure("""
                    \(settings.redactedURL) already holds data (in \(holding.joined(separator: ", "))): migrate into a new, \
                    empty database (CREATE DATABASE …); nothing was written
                    """)
            }
            output.line("copying \(directory.path) into \(settings.redactedURL)")
            let copy = MigrationCopy(source: source, store: store, metrics: metrics, limits: limits, output: output)
            let expected = try await copy.run()
            let report = try await MigrationVerification(source: source, store: store, metrics: metrics, expectedGains: expected).run()
            await store.close()
            output.line("")
            output.line(report.table)
            guard report.allMatch else {
                throw output.failure("the copy differs from the source (rows marked MISMATCH above)", code: 2)
            }
            output.line("migrated and verified: start the servers with store.backend postgres and store.postgres.url \(settings.redactedURL)")
        } catch let exit as ExitCode {
            throw exit
        } catch {
            await store.close()
            throw output.failure("""
                the copy failed: \(String(reflecting: error)). The database may now hold part of the data: \
                drop it and create it again before retrying
                """)
        }
    }

    /// The data directory: --data-dir, else the server's `data_dir` (flag, environment, config file).
    func dataDirectory() async throws -> URL {
        if let dataDir { return URL(fileURLWithPath: dataDir) }
        do {
            let settings = try await ServerSettings.loadConfiguration(file: self.config, overrides: [:]).settings
            return URL(fileURLWithPath: settings.dataDirectory)
        } catch let error as ConfigurationError {
            throw ValidationError(error.description)
        }
    }
}
