import Foundation
import Logging
import NIOCore
import PostgresNIO
import VigilProtocol

/// Leader election on PostgreSQL: the leader is the holder of a session advisory lock, on a
/// connection of its own (not the pool's: a pooled session would carry the lock to whoever
/// borrows it next).
///
/// A crashed leader's connection closes and PostgreSQL releases the lock at once. A hung leader
/// (alive, connected, doing nothing) would hold it for ever, so the holder also keeps a lease in
/// `cluster_leader`, renewed every step; a follower that finds the lease overdue ends the
/// holder's database session (`pg_terminate_backend`), which releases the lock. So leadership
/// moves within one election interval of a crash, and within the lease plus one interval of a
/// hang. Each new leader takes `epoch + 1`: work a deposed leader still does carries the old
/// epoch and is refused (``PostgresStore/isCurrentEpoch(_:)``).
public actor LeaderElection {
    public enum Role: Sendable, Equatable {
        case follower
        case leader(epoch: Int64)
    }

    private let store: PostgresStore
    private let memberID: String
    private let lease: Duration
    private let logger: Logger
    private var connection: PostgresConnection?
    public private(set) var role: Role = .follower

    /// The advisory lock's key, shared by every server on the database.
    static var leaderLock: Int64 { AdvisoryLock.leader }

    public init(store: PostgresStore, memberID: String, lease: Duration, logger: Logger) {
        self.store = store
        self.memberID = memberID
        self.lease = lease
        self.logger = logger
    }

    /// One round: the leader renews its lease; a follower tries the lock, and takes over from a
    /// leader whose lease is overdue. Returns the role after the round. Errors (the database
    /// unreachable) make this server a follower: a leader that cannot renew is not one.
    @discardableResult
    public func step() async -> Role {
        do {
            let connection = try await self.session()
            switch self.role {
            case .leader(let epoch):
                let renewed = try await connection.query(PostgresQuery(unsafeSQL: """
                    UPDATE cluster_leader SET lease_until = \(PostgresStore.databaseNow) + $1 WHERE epoch = $2 AND member_id = $3 RETURNING epoch
                    """, binds: try PostgresStore.binds(self.leaseSeconds, epoch, self.memberID)), logger: self.logger).rows()
                if renewed.isEmpty {
                    self.logger.warning("leadership lost: another server took over", metadata: ["epoch": "\(epoch)"])
                    await self.dropSession()
                }
            case .follower:
                let acquired = try await connection.query("SELECT pg_try_advisory_lock(\(Self.leaderLock)) AS got", logger: self.logger)
                    .rows().first?.value("got", as: Bool.self) ?? false
                if acquired {
                    let epoch = try await connection.query(PostgresQuery(unsafeSQL: """
                        INSERT INTO cluster_leader(singleton, epoch, member_id, backend_pid, lease_until)
                        VALUES (true, 1, $1, pg_backend_pid(), \(PostgresStore.databaseNow) + $2)
                        ON CONFLICT (singleton) DO UPDATE SET epoch = cluster_leader.epoch + 1, member_id = excluded.member_id,
                          backend_pid = excluded.backend_pid, lease_until = excluded.lease_until
                        RETURNING epoch
                        """, binds: try PostgresStore.binds(self.memberID, self.leaseSeconds)), logger: self.logger)
                        .rows().first?.value("epoch", as: Int64.self) ?? 0
                    self.role = .leader(epoch: epoch)
                    self.logger.notice("this server leads the cluster", metadata: ["epoch": "\(epoch)", "member": "\(self.memberID)"])
                } else {
                    try await self.takeOverFromHungLeader(connection)
                }
            }
        } catch {
            if case .leader(let epoch) = self.role {
                self.logger.warning("leadership given up: the database is unreachable", metadata: ["epoch": "\(epoch)", "error": "\(error)"])
            }
            await self.dropSession()
        }
        return self.role
    }

    /// Gives up leadership (a clean shutdown): the lock goes with the session, and the lease is
    /// ended so the next leader need not wait for it.
    public func resign() async {
        if case .leader(let epoch) = self.role, let connection = self.connection {
            _ = try? await connection.query(PostgresQuery(unsafeSQL: """
                UPDATE cluster_leader SET lease_until = 0 WHERE epoch = $1
                """, binds: try PostgresStore.binds(epoch)), logger: self.logger)
        }
        await self.dropSession()
    }

    /// Ends the election session as if the process had died (tests of a crashed leader).
    public func abandon() async {
        await self.dropSession()
    }

    private var leaseSeconds: Double { self.lease.seconds }

    private func takeOverFromHungLeader(_ connection: PostgresConnection) async throws {
        let rows = try await connection.query(PostgresQuery(unsafeSQL: """
            SELECT backend_pid, member_id, epoch FROM cluster_leader WHERE lease_until < \(PostgresStore.databaseNow)
            """), logger: self.logger).rows()
        guard let row = rows.first else { return }
        let pid: Int32 = try row.value("backend_pid")
        let holder: String = try row.value("member_id")
        let epoch: Int64 = try row.value("epoch")
        // Only the session that still holds the lock: the pid is checked against pg_locks, so a
        // reused pid of an unrelated backend is never terminated.
        let ended = try await connection.query(PostgresQuery(unsafeSQL: """
            SELECT pg_terminate_backend(l.pid) AS ended FROM pg_locks l
            WHERE l.locktype = 'advisory' AND l.pid = $1 AND l.granted
              AND ((l.classid::bigint << 32) | l.objid::bigint) = $2
            """, binds: try PostgresStore.binds(pid, Self.leaderLock)), logger: self.logger).rows()
        if !ended.isEmpty {
            self.logger.warning("the leader's lease is overdue: its database session ended so another can lead",
                                metadata: ["leader": "\(holder)", "epoch": "\(epoch)"])
        }
    }

    private func session() async throws -> PostgresConnection {
        if let connection = self.connection, !connection.isClosed { return connection }
        self.role = .follower
        let connection = try await self.store.dedicatedConnection(id: 1)
        self.connection = connection
        return connection
    }

    private func dropSession() async {
        self.role = .follower
        if let connection = self.connection {
            self.connection = nil
            try? await connection.close()
        }
    }
}
