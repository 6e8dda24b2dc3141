import Logging
import PostgresNIO

extension PostgresStore {
    /// Runs `body` in a transaction: committed when it returns, rolled back when it throws, and
    /// the body's own error rethrown as is (PostgresNIO wraps it in `PostgresTransactionError`;
    /// callers match on the store's errors, such as `UserStoreError.lastAdmin`).
    func transaction<Result: Sendable>(_ body: (PostgresConnection) async throws -> Result) async throws -> Result {
        do {
            return try await self.client.withTransaction(logger: self.logger) { connection in try await body(connection) }
        } catch let error as PostgresTransactionError {
            if let inner = error.closureError { throw inner }
            throw error
        }
    }
}
