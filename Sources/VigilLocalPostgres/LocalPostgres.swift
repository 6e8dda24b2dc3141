import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A throwaway PostgreSQL server for tests and benchmarks: `initdb` into a temporary directory,
/// `postgres` on a free loopback port, stopped and the directory removed at the end.
///
/// It runs the real server the image has (`initdb`, `postgres` on `PATH` or in the Debian cluster
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
    private let durable: Bool
    private let maxConnections: Int
    /// The running `postgres` process, a direct child: not started through `pg_ctl`, whose
    /// daemonised server would inherit Foundation's termination-watch socket and keep every
    /// `Process` wait from ending.
    private let running: Mutex<RunningServer?>

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
            throw Unavailable(description: "PostgreSQL is not installed: no initdb and postgres on PATH or in /usr/lib/postgresql/*/bin")
        }
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("vigil-postgres-\(UUID().uuidString.lowercased().prefix(12))", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        do {
            if tools.asPostgresUser { try Self.chownToPostgres(directory.path) }
            try await tools.run("initdb", ["-D", directory.appendingPathComponent("data").path, "-U", "postgres", "-A", "trust",
                                           "-E", "UTF8", "--no-instructions", "--locale=C"])
            var lastError: (any Error)?
            for _ in 0..<5 {
                let server = LocalPostgres(port: try Self.freePort(), directory: directory, tools: tools, durable: durable, maxConnections: maxConnections)
                do {
                    try await server.resume()
                    return server
                } catch {
                    lastError = error  // most likely the port was taken between the probe and the bind
                }
            }
            throw lastError ?? Unavailable(description: "postgres did not start")
        } catch {
            try? FileManager.default.removeItem(at: directory)
            throw error
        }
    }

    private init(port: Int, directory: URL, tools: Tools, durable: Bool, maxConnections: Int) {
        self.port = port
        self.directory = directory
        self.tools = tools
        self.durable = durable
        self.maxConnections = maxConnections
        self.running = Mutex(nil)
    }

    /// Creates a database (each test takes its own, so suites can share one server).
    public func createDatabase(_ name: String) async throws {
        try await self.psql("CREATE DATABASE \"\(name)\"")
    }

    /// Runs SQL through `psql` (for tests that must act beside the store, e.g. kill a session).
    @discardableResult
    public func psql(_ sql: String, database: String? = nil) async throws -> String {
        try await self.tools.run("psql", ["-h", "127.0.0.1", "-p", String(self.port), "-U", self.user, "-d", database ?? self.database,
                                          "-v", "ON_ERROR_STOP=1", "-q", "-At", "-c", sql])
    }

    /// Stops the server at once (SIGQUIT: no checkpoint, as after a crash) and removes its directory.
    public func stop() async {
        await self.halt(signal: SIGQUIT)
        try? FileManager.default.removeItem(at: self.directory)
    }

    /// Stops the server (SIGINT: fast shutdown, clients disconnected) and keeps its data, for tests
    /// of a database outage; ``resume()`` starts it again on the same port.
    public func pause() async {
        await self.halt(signal: SIGINT)
    }

    /// Kills the server with SIGKILL, as a crash would, keeping its data.
    public func crash() async {
        await self.halt(signal: SIGKILL)
    }

    /// Starts the server (again) on its port and waits until it accepts connections.
    public func resume() async throws {
        let options = [
            "-c", "listen_addresses=127.0.0.1", "-c", "port=\(self.port)", "-c", "unix_socket_directories=\(self.directory.path)",
            "-c", "max_connections=\(self.maxConnections)", "-c", "fsync=\(self.durable ? "on" : "off")",
            "-c", "synchronous_commit=\(self.durable ? "on" : "off")", "-c", "full_page_writes=\(self.durable ? "on" : "off")",
            "-c", "shared_buffers=128MB",
        ]
        let server = try self.tools.launch("postgres", ["-D", self.directory.appendingPathComponent("data").path] + options,
                                           log: self.directory.appendingPathComponent("server.log"))
        self.running.withLock { $0 = server }
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if server.hasExited {
                self.running.withLock { $0 = nil }
                let log = (try? String(contentsOf: self.directory.appendingPathComponent("server.log"), encoding: .utf8)) ?? ""
                throw Unavailable(description: "postgres exited at start: \(log.suffix(600))")
            }
            if (try? await self.tools.run("pg_isready", ["-q", "-h", "127.0.0.1", "-p", String(self.port), "-t", "1"])) != nil { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        await self.halt(signal: SIGKILL)
        throw Unavailable(description: "postgres did not accept connections within 60 s")
    }

    private func halt(signal: Int32) async {
        guard let server = self.running.withLock({ running in defer { running = nil }; return running }) else { return }
        await server.stop(signal: signal)
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
