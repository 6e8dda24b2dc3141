import Foundation
import JWTKit
import Logging
import NIOPosix
import ServiceLifecycle
import Synchronization
import VigilProtocol
import VigilStore

/// Users, sign-in and sessions: checks passwords (bcrypt, off the event loops), issues access
/// tokens (JWT, HS256) and refresh tokens, and answers whether a token or session is still good.
///
/// The live sessions and every user's role are held in memory (loaded from the store at start and
/// changed with it), so checking a token costs no database read, and signing out, removing a user
/// or changing a role through this server takes effect on the very next request — before the
/// token's own expiry. Changes made elsewhere (`vigil users` on the data directory, another server
/// sharing the database) are picked up by reloading every `auth.reload_interval` (the `run` loop).
public final class UserService: AccessTokenVerifier, Service {
    /// The first admin's password when this start generated it (`vigil up` shows it); else `nil`.
    public struct GeneratedAdmin: Sendable {
        public var name: String
        public var password: String
    }

    private struct LiveState {
        /// Live sessions by id.
        var sessions: [String: UserSession] = [:]
        /// Every user's current role.
        var roles: [String: UserRole] = [:]
        var lastPrune = Date()
        /// Bumped by every change made here; a reload that raced one is done again (it may have
        /// read the store before the change was written).
        var version = 0
    }

    public let settings: AuthSettings
    let store: any VigilStore
    let logger: Logger
    let hasher: PasswordHasher
    let throttle: LoginThrottle
    private let keys: JWTKeyCollection
    /// A hash of nothing anyone knows: an unknown user's sign-in is checked against it, so it takes
    /// as long as a known user's.
    private let dummyHash: String
    private let state = Mutex(LiveState())
    /// Set when this start created the first admin with a generated password.
    public let generatedAdmin: GeneratedAdmin?
    /// Sessions started while the disk was full, not yet in the store.
    let unsaved = UnsavedSessions()
    /// Told of writes that failed for space.
    let storage: StorageCondition?

    /// Expired and ended sessions are deleted from the store at most this often.
    static let pruneInterval: TimeInterval = 3600

    /// Loads the signing secret, creates the first admin when there is no user, and loads the
    /// live sessions.
    public init(store: any VigilStore, settings: AuthSettings, logger: Logger, storage: StorageCondition? = nil, threadPool: NIOThreadPool = .singleton) async throws {
        self.store = store
        self.storage = storage
        self.settings = settings
        self.logger = logger
        self.hasher = PasswordHasher(cost: settings.bcryptCost, threadPool: threadPool)
        self.throttle = LoginThrottle(settings: settings)
        let keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: try await store.tokenSigningSecret()), digestAlgorithm: .sha256)
        self.keys = keys
        self.dummyHash = try await self.hasher.hash(RandomToken.make())
        self.generatedAdmin = try await Self.createFirstAdmin(store: store, settings: settings, hasher: self.hasher, logger: logger)

        let now = Date()
        try await store.pruneSessions(before: now)
        let users = try await store.users()
        let sessions = try await store.activeSessions(at: now)
        self.state.withLock { state in
            state.roles = Dictionary(uniqueKeysWithValues: users.map { ($0.name, $0.role) })
            state.sessions = Dictionary(uniqueKeysWithValues: sessions.map { ($0.id, $0) })
        }
        logger.info("users loaded", metadata: ["users": "\(users.count)", "live_sessions": "\(sessions.count)"])
    }

    /// With no user at all, creates `auth.initial_admin_name` with `auth.initial_admin_password`, or
    /// with a random password logged once (the only place it ever appears).
    private static func createFirstAdmin(store: any VigilStore, settings: AuthSettings, hasher: PasswordHasher, logger: Logger) async throws -> GeneratedAdmin? {
        guard try await store.userCount() == 0 else {
            if settings.initialAdminPassword != nil {
                logger.debug("users exist; auth.initial_admin_password is not used")
            }
            return nil
        }
        let password = settings.initialAdminPassword ?? RandomToken.make(byteCount: 18)
        let now = Date()
        let record = UserRecord(name: settings.initialAdminName, role: .admin, passwordHash: try await hasher.hash(password), createdAt: now, updatedAt: now)
        // Atomic: of several servers starting on one empty database, one creates the admin.
        guard try await store.createFirstUser(record) else { return nil }
        if settings.initialAdminPassword != nil {
            logger.notice("created the first admin with the password from auth.initial_admin_password", metadata: ["user": "\(record.name)"])
            return nil
        }
        logger.notice("created the first admin \"\(record.name)\" with password \(password) — it will not be shown again; sign in and change it (POST /api/auth/password), or set another with `vigil users set-password \(record.name)`")
        return GeneratedAdmin(name: record.name, password: password)
    }

    // MARK: Signing in

    /// Checks a name and password and starts a session.
    ///
    /// - Throws: ``AuthFailure/throttled(retryAfter:)`` past the failure limits (before any
    ///   password check), ``AuthFailure/invalidCredentials`` otherwise on failure.
    public func signIn(name: String, password: String, address: String?) async throws -> TokenGrant {
        // Counted as a failure from the start (taken back on success): parallel attempts cannot
        // all pass the check while the first ones are still hashing.
        let attempt = ContinuousClock.now
        if let wait = self.throttle.begin(user: name, address: address, now: attempt) {
            // The name is whatever the caller typed: escaped, so it cannot forge a log line.
            self.logger.notice("sign-in refused: too many failures", metadata: ["user": "\(name.logEscaped)", "address": "\(address ?? "-")"])
            throw AuthFailure.throttled(retryAfter: wait)
        }
        let user = try await self.store.user(named: name)
        // Always one bcrypt check, against a dummy hash for an unknown name: same time either way.
        let matches = try await self.hasher.verify(password, hash: user?.passwordHash ?? self.dummyHash)
        let acceptable = PasswordPolicy.isUsable(password)
        guard let user, matches, acceptable else {
            self.logger.notice("sign-in failed", metadata: ["user": "\(name.logEscaped)", "address": "\(address ?? "-")"])
            throw AuthFailure.invalidCredentials
        }
        self.throttle.withdraw(user: name, address: address, at: attempt)
        self.throttle.recordSuccess(user: name, address: address)
        // The store is the truth: a user added or changed by `vigil users` counts from this sign-in
        // on, not only from the next reload.
        self.state.withLock { state in
            state.roles[user.name] = user.role
            state.version += 1
        }
        let grant = try await self.startSession(for: user)
        self.logger.info("signed in", metadata: ["user": "\(user.name)", "role": "\(user.role.rawValue)", "session": "\(grant.sessionID)", "address": "\(address ?? "-")"])
        return grant
    }

    private func startSession(for user: UserRecord) async throws -> TokenGrant {
        let now = Date()
        let refresh = RandomToken.make()
        let refreshDigest = RandomToken.digest(refresh)
        let session = UserSession(id: UUID().uuidString.lowercased(), userName: user.name, createdAt: now,
                                  expiresAt: now.addingTimeInterval(self.settings.refreshTokenTTL.seconds))
        do {
            try await self.store.createSession(session, refreshDigest: refreshDigest)
        } catch where self.storage?.report(error, writing: "a session") ?? StorageCondition.isStorageFull(error) {
            // Sign-in must work on a full disk: the session lives in memory until a reload can write it.
            self.unsaved.add(session, refreshDigest: refreshDigest)
            self.logger.warning("session kept in memory only until the disk has room (a restart before then ends it)", metadata: ["user": "\(user.name)", "session": "\(session.id)"])
        }
        self.state.withLock { state in
            state.sessions[session.id] = session
            state.version += 1
        }
        try await self.pruneIfDue(now: now)
        return try await self.grant(session: session, role: user.role, refreshToken: refresh, now: now)
    }

    private func grant(session: UserSession, role: UserRole, refreshToken: String, now: Date) async throws -> TokenGrant {
        let claims = AccessTokenClaims(
            sub: .init(value: session.userName), role: role.rawValue, sid: session.id,
            exp: .init(value: now.addingTimeInterval(self.settings.accessTokenTTL.seconds)),
            iat: .init(value: now), iss: .init(value: AccessTokenClaims.issuer)
        )
        return TokenGrant(
            accessToken: try await self.keys.sign(claims),
            expiresIn: Int(self.settings.accessTokenTTL.seconds.rounded(.down)),
            refreshToken: refreshToken,
            refreshExpiresIn: max(0, Int(session.expiresAt.timeIntervalSince(now).rounded(.down))),
            user: .init(name: session.userName, role: role),
            sessionID: session.id
        )
    }

    /// Spends a refresh token for a new pair. A token presented a second time ends its session
    /// (someone else has a copy) — the holder of the newer token must sign in again too.
    public func refresh(token: String) async throws -> TokenGrant {
        guard RandomToken.isWellFormed(token) else { throw AuthFailure.invalidToken }
        let now = Date()
        let next = RandomToken.make()
        switch try await self.store.rotateRefreshToken(
            digest: RandomToken.digest(token), newDigest: RandomToken.digest(next),
            newExpiresAt: now.addingTimeInterval(self.settings.refreshTokenTTL.seconds), at: now
        ) {
        case .rotated(let session):
            let role = self.state.withLock { state -> UserRole? in
                state.sessions[session.id] = session
                state.version += 1
                return state.roles[session.userName]
            }
            guard let role = try await self.role(role, of: session.userName) else { throw AuthFailure.invalidToken }
            return try await self.grant(session: session, role: role, refreshToken: next, now: now)
        case .reused(let sessionID):
            self.forget(sessions: [sessionID])
            self.logger.warning("a spent refresh token was presented again: session ended", metadata: ["session": "\(sessionID)"])
            throw AuthFailure.invalidToken
        case .invalid:
            // Perhaps a session kept in memory while the disk was full.
            guard let session = self.unsaved.rotate(digest: RandomToken.digest(token), newDigest: RandomToken.digest(next),
                                                    newExpiresAt: now.addingTimeInterval(self.settings.refreshTokenTTL.seconds), at: now),
                  let role = try await self.role(self.state.withLock({ $0.roles[session.userName] }), of: session.userName)
            else { throw AuthFailure.invalidToken }
            self.state.withLock { state in
                state.sessions[session.id] = session
                state.version += 1
            }
            return try await self.grant(session: session, role: role, refreshToken: next, now: now)
        }
    }

    /// `known`, or else the user's role in the store (a user added since the last reload), or `nil`.
    private func role(_ known: UserRole?, of name: String) async throws -> UserRole? {
        if let known { return known }
        guard let user = try await self.store.user(named: name) else { return nil }
        self.state.withLock { state in
            state.roles[user.name] = user.role
            state.version += 1
        }
        return user.role
    }

    /// Ends a session (sign-out). Its access tokens stop working at once.
    public func signOut(sessionID: String) async throws {
        // Ended in the store even when it was kept in memory: a reload may have just written it.
        let unsaved = self.unsaved.remove(sessionID)
        do {
            try await self.store.endSession(id: sessionID, at: Date())
        } catch where unsaved && StorageCondition.isStorageFull(error) {
            // Never written, and no reload will write it now.
        }
        let session = self.state.withLock { state in
            state.version += 1
            return state.sessions.removeValue(forKey: sessionID)
        }
        self.logger.info("signed out", metadata: ["user": "\(session?.userName ?? "-")", "session": "\(sessionID)"])
    }

    /// Changes the signed-in user's own password and ends their other sessions.
    public func changePassword(of user: SignedInUser, current: String, new: String, address: String?) async throws {
        let attempt = ContinuousClock.now
        if let wait = self.throttle.begin(user: user.name, address: address, now: attempt) {
            throw AuthFailure.throttled(retryAfter: wait)
        }
        guard let record = try await self.store.user(named: user.name) else { throw AuthFailure.userNotFound(user.name) }
        guard try await self.hasher.verify(current, hash: record.passwordHash), PasswordPolicy.isUsable(current) else {
            throw AuthFailure.wrongPassword
        }
        self.throttle.withdraw(user: user.name, address: address, at: attempt)
        if let problem = PasswordPolicy(settings: self.settings).problem(with: new) { throw AuthFailure.weakPassword(problem) }
        let now = Date()
        try await self.store.updateUser(named: user.name, role: nil, passwordHash: try await self.hasher.hash(new), at: now)
        let ended = try await self.store.endSessions(userName: user.name, keeping: user.sessionID, at: now)
            + self.unsaved.remove(userName: user.name, keeping: user.sessionID)
        self.forget(sessions: ended)
        self.logger.notice("audit", metadata: ["user": "\(user.name)", "action": "change_password", "target": "\(user.name)", "sessions_ended": "\(ended.count)"])
    }

    private func forget(sessions ids: [String]) {
        self.state.withLock { state in
            for id in ids { state.sessions.removeValue(forKey: id) }
            state.version += 1
        }
    }

    private func pruneIfDue(now: Date) async throws {
        let due = self.state.withLock { state -> Bool in
            guard now.timeIntervalSince(state.lastPrune) >= Self.pruneInterval else { return false }
            state.lastPrune = now
            state.sessions = state.sessions.filter { $0.value.isActive(at: now) }
            return true
        }
        if due {
            do {
                try await self.store.pruneSessions(before: now)
            } catch where StorageCondition.isStorageFull(error) {
                // Housekeeping: the next prune deletes them.
            }
        }
    }

    // MARK: Reloading

    /// Reloads users and live sessions every `auth.reload_interval` until shutdown.
    public func run() async throws {
        let interval = self.settings.reloadInterval
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return  // cancelled or shutting down
            }
            do {
                try await self.reload()
            } catch {
                self.logger.warning("reloading users and sessions failed; keeping what is in memory", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Replaces the in-memory users and sessions with the store's. When a change was made here
    /// while the store was read, the read may predate it: read again (a few times at most).
    func reload() async throws {
        await self.saveUnsavedSessions()
        for _ in 0..<3 {
            let version = self.state.withLock { $0.version }
            let now = Date()
            let users = try await self.store.users()
            // Sessions not yet written are live too.
            let sessions = try await self.store.activeSessions(at: now) + self.unsaved.active(at: now)
            let applied = self.state.withLock { state -> Bool in
                guard state.version == version else { return false }
                state.roles = Dictionary(uniqueKeysWithValues: users.map { ($0.name, $0.role) })
                state.sessions = Dictionary(uniqueKeysWithValues: sessions.map { ($0.id, $0) })
                return true
            }
            if applied { return }
        }
    }

    /// Writes the sessions started while the disk was full, now that it may have room. A sign-out
    /// or a refresh racing a write is carried to the stored row afterwards, so an ended session
    /// cannot come back and a refreshed one keeps its new token.
    func saveUnsavedSessions() async {
        for entry in self.unsaved.all {
            do {
                try await self.store.createSession(entry.session, refreshDigest: entry.refreshDigest)
                var written = entry
                while true {
                    switch self.unsaved.written(written) {
                    case .stored:
                        break
                    case .ended:
                        _ = try await self.store.endSession(id: written.session.id, at: Date())
                    case .refreshed(let current):
                        _ = try await self.store.rotateRefreshToken(digest: written.refreshDigest, newDigest: current.refreshDigest,
                                                                    newExpiresAt: current.session.expiresAt, at: Date())
                        written = current
                        continue
                    }
                    break
                }
            } catch {
                if self.storage?.report(error, writing: "a session kept in memory") != true {
                    self.logger.warning("could not store a session kept in memory; trying again at the next reload", metadata: ["session": "\(entry.session.id)", "error": "\(error)"])
                }
                return
            }
        }
    }

    // MARK: AccessTokenVerifier

    public func verify(accessToken: String) async -> SignedInUser? {
        guard let claims = try? await self.keys.verify(accessToken, as: AccessTokenClaims.self) else { return nil }
        let now = Date()
        return self.state.withLock { state -> SignedInUser? in
            guard let session = state.sessions[claims.sid], session.isActive(at: now),
                  session.userName == claims.sub.value, let role = state.roles[session.userName]
            else { return nil }
            return SignedInUser(name: session.userName, role: role, sessionID: session.id)
        }
    }

    public func isSessionActive(_ sessionID: String) async -> Bool {
        let now = Date()
        return self.state.withLock { state in
            guard let session = state.sessions[sessionID], session.isActive(at: now) else { return false }
            return state.roles[session.userName] != nil
        }
    }

    // MARK: Managing users (admin)

    /// Every user, sorted by name.
    public func users() async throws -> [UserRecord] { try await self.store.users() }

    /// Adds a user.
    @discardableResult
    public func addUser(name: String, password: String, role: UserRole, by actor: String) async throws -> UserRecord {
        guard UserName.isValid(name) else { throw AuthFailure.invalidName }
        if let problem = PasswordPolicy(settings: self.settings).problem(with: password) { throw AuthFailure.weakPassword(problem) }
        let now = Date()
        let record = UserRecord(name: name, role: role, passwordHash: try await self.hasher.hash(password), createdAt: now, updatedAt: now)
        do {
            try await self.store.createUser(record)
        } catch UserStoreError.duplicate {
            throw AuthFailure.userExists(name)
        }
        self.state.withLock { state in
            state.roles[name] = role
            state.version += 1
        }
        self.logger.notice("audit", metadata: ["user": "\(actor)", "action": "add_user", "target": "\(name)", "role": "\(role.rawValue)"])
        return record
    }

    /// Changes a user's role and/or password. A new password ends the user's sessions; a new role
    /// applies to their next request.
    @discardableResult
    public func updateUser(name: String, role: UserRole?, password: String?, by actor: String) async throws -> UserRecord {
        if let password, let problem = PasswordPolicy(settings: self.settings).problem(with: password) {
            throw AuthFailure.weakPassword(problem)
        }
        let hash: String? = if let password { try await self.hasher.hash(password) } else { nil }
        let now = Date()
        let record: UserRecord
        do {
            record = try await self.store.updateUser(named: name, role: role, passwordHash: hash, at: now)
        } catch let error as UserStoreError {
            throw Self.failure(error)
        }
        self.state.withLock { state in
            state.roles[name] = record.role
            state.version += 1
        }
        var ended: [String] = []
        if hash != nil {
            ended = try await self.store.endSessions(userName: name, keeping: nil, at: now)
                + self.unsaved.remove(userName: name, keeping: nil)
            self.forget(sessions: ended)
        }
        self.logger.notice("audit", metadata: [
            "user": "\(actor)", "action": "update_user", "target": "\(name)",
            "role": "\(record.role.rawValue)", "password_changed": "\(hash != nil)", "sessions_ended": "\(ended.count)",
        ])
        return record
    }

    /// Removes a user and ends their sessions.
    public func removeUser(name: String, by actor: String) async throws {
        let ended: [String]
        do {
            ended = try await self.store.deleteUser(named: name, at: Date()) + self.unsaved.remove(userName: name, keeping: nil)
        } catch let error as UserStoreError {
            throw Self.failure(error)
        }
        self.state.withLock { state in
            state.roles.removeValue(forKey: name)
            for id in ended { state.sessions.removeValue(forKey: id) }
            state.version += 1
        }
        self.logger.notice("audit", metadata: ["user": "\(actor)", "action": "remove_user", "target": "\(name)", "sessions_ended": "\(ended.count)"])
    }

    static func failure(_ error: UserStoreError) -> AuthFailure {
        switch error {
        case .duplicate(let name): .userExists(name)
        case .notFound(let name): .userNotFound(name)
        case .lastAdmin(let name): .lastAdmin(name)
        }
    }
}
