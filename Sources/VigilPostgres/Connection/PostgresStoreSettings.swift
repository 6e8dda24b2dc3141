import Foundation

/// Where the PostgreSQL store is and how to reach it (`store.postgres.*`).
///
/// The URL names host, port, user and database (`postgres://user@host:5432/vigil?sslmode=require`);
/// a password inside it is refused, so it never shows in a process list, a shell history or a log
/// line: it comes from a file (`store.postgres.password_file`) or the environment.
public struct PostgresStoreSettings: Sendable, Equatable {
    public enum TLSMode: String, Sendable, Equatable {
        /// Plain TCP (a loopback or private network only).
        case disable
        /// TLS when the server offers it.
        case prefer
        /// TLS or no connection; the server's certificate is verified.
        case require
    }

    public var host: String
    public var port: Int
    public var user: String
    public var database: String
    public var password: String?
    public var tls: TLSMode
    /// Connections in the pool (`store.postgres.max_connections`).
    public var maxConnections: Int
    /// How long a connection attempt may take (`store.postgres.connect_timeout`).
    public var connectTimeout: Duration

    public init(host: String, port: Int = 5432, user: String, database: String, password: String? = nil,
                tls: TLSMode = .prefer, maxConnections: Int = 16, connectTimeout: Duration = .seconds(5)) {
        self.host = host
        self.port = port
        self.user = user
        self.database = database
        self.password = password
        self.tls = tls
        self.maxConnections = maxConnections
        self.connectTimeout = connectTimeout
    }

    /// Why a URL was not taken.
    public struct InvalidURL: Error, CustomStringConvertible, Equatable {
        public let description: String
    }

    /// Parses `postgres://user@host:port/database?sslmode=disable|prefer|require`.
    public init(url text: String, password: String? = nil) throws {
        guard let components = URLComponents(string: text),
              let scheme = components.scheme, scheme == "postgres" || scheme == "postgresql" else {
            throw InvalidURL(description: "not a postgres:// URL")
        }
        guard components.password == nil else {
            throw InvalidURL(description: "the URL holds a password: put it in store.postgres.password_file or VIGIL_STORE_POSTGRES_PASSWORD instead")
        }
        guard let host = components.host, !host.isEmpty else { throw InvalidURL(description: "the URL names no host") }
        guard let user = components.user, !user.isEmpty else { throw InvalidURL(description: "the URL names no user (postgres://USER@host/database)") }
        let database = String(components.path.drop { $0 == "/" })
        guard !database.isEmpty, !database.contains("/") else { throw InvalidURL(description: "the URL names no database (postgres://user@host/DATABASE)") }
        let port = components.port ?? 5432
        guard (1...65535).contains(port) else { throw InvalidURL(description: "port \(port) is out of range") }
        var tls = TLSMode.prefer
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                switch item.value {
                case "disable": tls = .disable
                case "prefer", "allow": tls = .prefer
                case "require", "verify-ca", "verify-full": tls = .require
                default: throw InvalidURL(description: "sslmode must be disable, prefer or require")
                }
            default:
                throw InvalidURL(description: "unknown URL parameter '\(item.name)' (only sslmode is understood)")
            }
        }
        self.init(host: host, port: port, user: user, database: database, password: password, tls: tls)
    }

    /// The URL without any secret, for logs and `/api/health`.
    public var redactedURL: String { "postgres://\(self.user)@\(self.host):\(self.port)/\(self.database)" }
}
