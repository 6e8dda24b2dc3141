import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A throwaway PostgreSQL server for tests and benchmarks: `initdb` into a temporary directory,
/// `pg_ctl start` on a free loopback port, `pg_ctl stop` and the directory removed at the end.
///
/// It runs the real server the image has (`initdb`, `pg_ctl` on `PATH` or in the Debian cluster
/// directories). `initdb` refuses to run as root, so as root the cluster belongs to the `postgres`
/// user and the tools run through `runuser`. Authentication is `trust` on loopback only: the
/// server is private to this process's tests and never listens beyond 127.0.0.1.
public final class LocalPostgres: Sendable {
    /// Why a server could not be started.
    public struct Unavailable: Error, CustomStringConvertible {
        public let description: String
    }

    public let port: Int
    public let directory: URL
    public let user = "postgres"
    public let database = "postgres"
    private let tools: Tools

    /// A connection URL for `database` (defaults to the server's own).
    public func url(database: String? = nil) -> String {
        "postgres://\(self.user)@127.0.0.1:\(self.port)/\(database ?? self.database)"
    }

    /// Whether the PostgreSQL tools are installed (tests skip loudly when not).
    public static var isAvailable: Bool { Tools.find() != nil }

    /// Starts a new server.
    ///
    /// - Parameter durable: `false` (tests) turns off fsync and synchronous commit, which a
    ///   throwaway cluster does not need; benchmarks keep them on, as production does.
    public static func start(durable: Bool = false, maxConnections: Int = 200) async throws -> LocalPostgres {
        guard let tools = Tools.find() else {
            throw Unavailable(description: "PostgreSQL is not installed: no initdb and pg_ctl on PATH or in /usr/lib/postgresql/*/bin")
        }
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("vigil-postgres-\(UUID().uuidString.lowercased().prefix(12))", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let data = directory.appendingPathComponent("data").path
        do {
            if tools.asPostgresUser { try Self.chownToPostgres(directory.path) }
            try await tools.run("initdb", ["-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-instructions", "--locale=C"])
            var lastError: (any Error)?
            for _ in 0..<5 {
                let port = try Self.freePort()
                let options = [
                    "-c listen_addresses=127.0.0.1", "-c port=\(port)", "-c unix_socket_directories=\(directory.path)",
                    "-c max_connections=\(maxConnections)", "-c fsync=\(durable ? "on" : "off")",
                    "-c synchronous_commit=\(durable ? "on" : "off")", "-c full_page_writes=\(durable ? "on" : "off")",
                    "-c shared_buffers=128MB",
                ].joined(separator: " ")
                do {
                    try await tools.run("pg_ctl", ["-D", data, "-o", options, "-l", directory.appendingPathComponent("server.log").path, "-w", "-t", "60", "start"])
                    return LocalPostgres(port: port, directory: directory, tools: tools)
                } catch {
                    lastError = error  // most likely the port was taken between the probe and the bind
                }
            }
            throw lastError ?? Unavailable(description: "pg_ctl start failed")
        } catch {
            try? FileManager.default.removeItem(at: directory)
            throw error
        }
    }

    private init(port: Int, directory: URL, tools: Tools) {
        self.port = port
        self.directory = directory
        self.tools = tools
    }

    /// Creates a database (each test takes its own, so suites can share one server).
    public func createDatabase(_ name: String) async throws {
        try await self.tools.run("psql", ["-h", "127.0.0.1", "-p", String(self.port), "-U", self.user, "-d", self.database,
                                          "-v", "ON_ERROR_STOP=1", "-q", "-c", "CREATE DATABASE \"\(name)\""])
    }

    /// Runs SQL through `psql` (for tests that must act beside the store, e.g. kill a session).
    @discardableResult
    public func psql(_ sql: String, database: String? = nil) async throws -> String {
        try await self.tools.run("psql", ["-h", "127.0.0.1", "-p", String(self.port), "-U", self.user, "-d", database ?? self.database,
                                          "-v", "ON_ERROR_STOP=1", "-q", "-At", "-c", sql])
    }

    /// Stops the server at once and removes its directory.
    public func stop() async {
        _ = try? await self.tools.run("pg_ctl", ["-D", self.directory.appendingPathComponent("data").path, "-m", "immediate", "-w", "stop"])
        try? FileManager.default.removeItem(at: self.directory)
    }

    /// Stops the server, waiting for clients, and keeps its data (for restart tests).
    public func pause() async throws {
        try await self.tools.run("pg_ctl", ["-D", self.directory.appendingPathComponent("data").path, "-m", "fast", "-w", "stop"])
    }

    /// Starts a paused server again on the same port.
    public func resume() async throws {
        let options = "-c listen_addresses=127.0.0.1 -c port=\(self.port) -c unix_socket_directories=\(self.directory.path)"
        try await self.tools.run("pg_ctl", ["-D", self.directory.appendingPathComponent("data").path, "-o", options,
                                            "-l", self.directory.appendingPathComponent("server.log").path, "-w", "-t", "60", "start"])
    }

    private static func chownToPostgres(_ path: String) throws {
        guard let entry = getpwnam("postgres") else {
            throw Unavailable(description: "running as root and there is no postgres user to own the cluster (initdb refuses root)")
        }
        guard chown(path, entry.pointee.pw_uid, entry.pointee.pw_gid) == 0 else {
            throw Unavailable(description: "chown \(path) to postgres failed: errno \(errno)")
        }
    }

    private static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Unavailable(description: "socket() failed: errno \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw Unavailable(description: "bind() failed: errno \(errno)") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { throw Unavailable(description: "getsockname() failed: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
