import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO

extension PostgresStore {
    /// A connection outside the pool, for a session that must stay one session: the leader's
    /// advisory lock, the mail LISTEN.
    func dedicatedConnection(id: Int) async throws -> PostgresConnection {
        let tls: PostgresConnection.Configuration.TLS
        switch self.settings.tls {
        case .disable: tls = .disable
        case .prefer: tls = .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
        case .require: tls = .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
        }
        var configuration = PostgresConnection.Configuration(
            host: self.settings.host, port: self.settings.port, username: self.settings.user,
            password: self.settings.password, database: self.settings.database, tls: tls
        )
        configuration.options.connectTimeout = .seconds(Int64(max(1, self.settings.connectTimeout.components.seconds)))
        return try await PostgresConnection.connect(
            on: MultiThreadedEventLoopGroup.singleton.next(), configuration: configuration, id: id, logger: self.logger)
    }
}
