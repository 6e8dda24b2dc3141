import ServiceLifecycle
import VigilPostgres

/// Closes the PostgreSQL connection pool at shutdown, after every service that writes to it has
/// stopped (it is first in the service list, so it stops last).
struct PostgresStoreService: Service {
    let store: PostgresStore

    func run() async throws {
        try? await gracefulShutdown()
        await self.store.close()
    }
}
