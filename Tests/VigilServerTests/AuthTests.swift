import Foundation
import Testing
import VigilStore
@testable import VigilServer

/// Sign-in, tokens, sessions and the first admin, against a real in-process server.
@Suite("Users, sign-in and sessions", .serialized)
struct AuthTests {
    static func json(_ object: [String: Any]) throws -> Data { try JSONSerialization.data(withJSONObject: object) }

    static func refresh(_ server: TestServer, _ token: String) async throws -> (status: Int, headers: [String: String], json: Any?) {
        try await server.http("POST", "/api/auth/refresh", headers: ["Content-Type": "application/json"], body: try json(["refresh_token": token]), as: .anonymous)
    }

    @Test("sign-in answers the token pair and the user; the access token opens the API; /me names the session")
    func signIn() async throws {
        try await TestServer.with { server in
            let (status, headers, json) = try await server.signIn(TestServer.adminName, TestServer.adminPassword)
            #expect(status == 200)
            #expect(headers["cache-control"] == "no-store")
            let body = try #require(json as? [String: Any])
            #expect(body["token_type"] as? String == "Bearer")
            #expect(body["expires_in"] as? Int == 900)
            #expect(body["refresh_expires_in"] as? Int == 7 * 86_400 || body["refresh_expires_in"] as? Int == 7 * 86_400 - 1)
            #expect((body["user"] as? [String: Any])?["role"] as? String == "admin")
            let access = try #require(body["access_token"] as? String)
            #expect(access.split(separator: ".").count == 3, "a JWT")
            #expect((body["refresh_token"] as? String)?.count == 43)
            let me = try await server.http("GET", "/api/auth/me", as: .token(access))
            #expect(me.status == 200)
            #expect((me.json as? [String: Any])?["name"] as? String == "admin")
            #expect((me.json as? [String: Any])?["session_id"] as? String != nil)
            #expect(try await server.http("GET", "/api/agents", as: .token(access)).status == 200)
            // The claims, as any JWT library reads them.
            let payload = try #require(Data(base64Encoded: Self.padded(String(access.split(separator: ".")[1]))))
            let claims = try #require(try JSONSerialization.jsonObject(with: payload) as? [String: Any])
            #expect(claims["sub"] as? String == "admin" && claims["iss"] as? String == "vigil" && claims["role"] as? String == "admin")
            #expect(claims["sid"] as? String == (me.json as? [String: Any])?["session_id"] as? String)
            #expect(claims["exp"] != nil && claims["iat"] != nil)
            #expect(!server.logs.contains(access), "tokens are never logged")
            #expect(!server.logs.contains(TestServer.adminPassword), "passwords are never logged")
        }
    }

    static func padded(_ base64URL: String) -> String {
        let base = base64URL.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        return base + String(repeating: "=", count: (4 - base.count % 4) % 4)
    }

    @Test("a wrong password and an unknown user get the same answer; a forged or garbled token is refused")
    func badCredentials() async throws {
        try await TestServer.with { server in
            let wrong = try await server.signIn(TestServer.adminName, "not-the-password")
            let unknown = try await server.signIn("nobody", "not-the-password")
            #expect(wrong.status == 401 && unknown.status == 401)
            #expect((wrong.json as? [String: Any])?["error"] as? String == "invalid_credentials")
            #expect((wrong.json as? [String: Any])?["detail"] as? String == (unknown.json as? [String: Any])?["detail"] as? String)
            #expect(try await server.signIn(TestServer.adminName, TestServer.adminPassword + String(repeating: "x", count: 80)).status == 401, "over 72 bytes: never a prefix match")
            let token = try await server.adminAccessToken()
            let parts = token.split(separator: ".").map(String.init)
            // Same header and signature, a payload that claims another role: the signature no longer matches.
            let forged = [parts[0], parts[1].dropLast(2) + "xx", parts[2]].joined(separator: ".")
            for bad in ["garbage", forged, parts[0] + "." + parts[1] + ".", "eyJhbGciOiJub25lIn0." + parts[1] + "."] {
                let answer = try await server.http("GET", "/api/agents", as: .token(bad))
                #expect(answer.status == 401)
                #expect(answer.headers["www-authenticate"]?.contains("invalid_token") == true)
            }
            let none = try await server.http("GET", "/api/agents", as: .anonymous)
            #expect(none.status == 401)
            #expect((none.json as? [String: Any])?["error"] as? String == "unauthorized")
            #expect(none.headers["www-authenticate"]?.hasPrefix("Bearer") == true)
        }
    }

    @Test("failed sign-ins are limited per user name: 429 with Retry-After, even for the right password; other names are not affected")
    func throttlePerUser() async throws {
        try await TestServer.with({ $0.auth.loginFailuresPerUser = 3; $0.auth.loginFailuresPerAddress = 100 }) { server in
            _ = try await server.adminAccessToken()  // signed in before the lock-out, to add a user below
            for _ in 0..<3 { #expect(try await server.signIn(TestServer.adminName, "wrong-password").status == 401) }
            let refused = try await server.signIn(TestServer.adminName, TestServer.adminPassword)
            #expect(refused.status == 429)
            #expect((refused.json as? [String: Any])?["error"] as? String == "too_many_attempts")
            let retry = try #require(refused.headers["retry-after"].flatMap(Int.init))
            #expect(retry >= 890 && retry <= 900, "the oldest failure leaves the 15 min window")
            #expect(try await server.signIn("Admin", TestServer.adminPassword).status == 429, "names are counted without regard to case")
            _ = try await server.user("olga", role: .viewer, password: "olga-password-1")
            #expect(try await server.signIn("olga", "olga-password-1").status == 200)
            #expect(server.logs.contains("sign-in refused: too many failures"))
        }
    }

    @Test("failed sign-ins are limited per address, across user names")
    func throttlePerAddress() async throws {
        try await TestServer.with({ $0.auth.loginFailuresPerUser = 100; $0.auth.loginFailuresPerAddress = 4 }) { server in
            for index in 0..<4 { #expect(try await server.signIn("guess-\(index)", "wrong-password").status == 401) }
            let refused = try await server.signIn(TestServer.adminName, TestServer.adminPassword)
            #expect(refused.status == 429)
            #expect(refused.headers["retry-after"].flatMap(Int.init) != nil)
        }
    }

    @Test("parallel sign-ins cannot overrun the limits: each attempt counts before its password is checked")
    func throttleConcurrent() async throws {
        try await TestServer.with({ $0.auth.loginFailuresPerUser = 3; $0.auth.loginFailuresPerAddress = 100 }) { server in
            let users = server.server.users
            // 20 guesses at once: without the attempt counted up front, all pass the check while
            // the first ones are still reading the store and hashing.
            let outcomes = await Self.parallelGuesses(users, count: 20) { index in ("wrong-password-\(index)", "10.9.8.7") }
            #expect(outcomes.filter { $0 == "failed" }.count == 3, "only the limit's worth of passwords is checked: \(outcomes)")
            #expect(outcomes.filter { $0 == "throttled" }.count == 17)
            // A success takes its own count back: a right password under the limit leaves no trace.
            try await TestServer.with({ $0.auth.loginFailuresPerUser = 2; $0.auth.loginFailuresPerAddress = 2 }) { other in
                for _ in 0..<3 { _ = try await other.server.users.signIn(name: TestServer.adminName, password: TestServer.adminPassword, address: "10.1.1.1") }
                #expect(other.server.users.throttle.retryAfter(user: TestServer.adminName, address: "10.1.1.1") == nil)
            }
        }
    }

    @Test("a name locked by failures from one address still signs in with the right password from an address that has not failed")
    func lockedNameFromFreshAddress() async throws {
        try await TestServer.with({ $0.auth.loginFailuresPerUser = 5; $0.auth.loginFailuresPerAddress = 100 }) { server in
            let users = server.server.users
            for _ in 0..<5 {
                await #expect(throws: AuthFailure.self) { try await users.signIn(name: TestServer.adminName, password: "wrong-password", address: "10.6.6.6") }
            }
            await #expect(throws: AuthFailure.self, "the guessing address stays locked out, even with the right password") {
                try await users.signIn(name: TestServer.adminName, password: TestServer.adminPassword, address: "10.6.6.6")
            }
            #expect(users.throttle.retryAfter(user: TestServer.adminName, address: "10.6.6.6") != nil)
            let grant = try await users.signIn(name: TestServer.adminName, password: TestServer.adminPassword, address: "10.1.2.3")
            #expect(!grant.accessToken.isEmpty, "the admin from elsewhere is not locked out")
            // Over HTTP, the address is the connection's: failures from it lock it, not the name.
            #expect(try await server.signIn(TestServer.adminName, TestServer.adminPassword).status == 200)
            #expect(server.logs.contains("sign-in refused: too many failures"))
        }
    }

    @Test("while a name is under attack each further address gets one guess: 20 parallel guesses from 20 addresses, then none")
    func lockedNameManyAddresses() async throws {
        try await TestServer.with({ $0.auth.loginFailuresPerUser = 5; $0.auth.loginFailuresPerAddress = 100 }) { server in
            let users = server.server.users
            for _ in 0..<5 { _ = try? await users.signIn(name: TestServer.adminName, password: "wrong-password", address: "10.6.6.6") }
            for round in 0..<2 {
                let outcomes = await Self.parallelGuesses(users, count: 20) { index in ("wrong-\(index)", "10.7.0.\(index)") }
                if round == 0 {
                    #expect(outcomes.filter { $0 == "failed" }.count == 20, "one password check per new address: \(outcomes)")
                } else {
                    #expect(outcomes.filter { $0 == "throttled" }.count == 20, "no second guess from any of them: \(outcomes)")
                }
            }
            let grant = try await users.signIn(name: TestServer.adminName, password: TestServer.adminPassword, address: "10.8.0.1")
            #expect(!grant.accessToken.isEmpty, "the right password from a new address signs in")
        }
    }

    @Test("the throttle forgets failures after the window and keeps at most its capacity of names")
    func throttleWindow() {
        var settings = AuthSettings()
        settings.loginFailuresPerUser = 2
        settings.loginFailuresPerAddress = 1000
        settings.loginFailureWindow = .seconds(60)
        settings.loginTrackingCapacity = 100
        let throttle = LoginThrottle(settings: settings)
        let start = ContinuousClock.now
        throttle.recordFailure(user: "a", address: "10.0.0.1", now: start)
        #expect(throttle.retryAfter(user: "a", address: "10.0.0.1", now: start) == nil)
        throttle.recordFailure(user: "a", address: "10.0.0.1", now: start + .seconds(10))
        #expect(throttle.retryAfter(user: "a", address: "10.0.0.1", now: start + .seconds(10)) == .seconds(50))
        #expect(throttle.retryAfter(user: "a", address: "10.0.0.1", now: start + .seconds(61)) == nil, "the first failure left the window")
        throttle.recordSuccess(user: "a")
        for index in 0..<500 { throttle.recordFailure(user: "n\(index)", address: nil, now: start + .seconds(20)) }
        #expect(throttle.trackedCount <= 100)
    }

    @Test("refresh gives a new pair and spends the old token; presenting a spent token again ends the session")
    func refreshRotation() async throws {
        try await TestServer.with { server in
            let login = try #require(try await server.signIn(TestServer.adminName, TestServer.adminPassword).json as? [String: Any])
            let first = try #require(login["refresh_token"] as? String)
            let refreshed = try await Self.refresh(server, first)
            #expect(refreshed.status == 200)
            let pair = try #require(refreshed.json as? [String: Any])
            let second = try #require(pair["refresh_token"] as? String)
            let access = try #require(pair["access_token"] as? String)
            #expect(second != first)
            #expect(try await server.http("GET", "/api/agents", as: .token(access)).status == 200)
            // The spent token again: refused, and the whole session ends (the newer tokens too).
            let reused = try await Self.refresh(server, first)
            #expect(reused.status == 401)
            #expect((reused.json as? [String: Any])?["error"] as? String == "invalid_token")
            #expect(try await Self.refresh(server, second).status == 401)
            #expect(try await server.http("GET", "/api/agents", as: .token(access)).status == 401)
            #expect(server.logs.contains("a spent refresh token was presented again"))
            #expect(try await Self.refresh(server, "not-a-token").status == 401)
            #expect(try await server.http("POST", "/api/auth/refresh", headers: ["Content-Type": "application/json"], body: Data("{}".utf8), as: .anonymous).status == 400)
        }
    }

    @Test("sign-out ends the session at once: its access token and its refresh token stop working")
    func logout() async throws {
        try await TestServer.with { server in
            let login = try #require(try await server.signIn(TestServer.adminName, TestServer.adminPassword).json as? [String: Any])
            let access = try #require(login["access_token"] as? String)
            let refresh = try #require(login["refresh_token"] as? String)
            let other = try await server.accessToken(TestServer.adminName, TestServer.adminPassword)
            let session = try #require((try await server.http("GET", "/api/auth/me", as: .token(access)).json as? [String: Any])?["session_id"] as? String)
            #expect(await server.server.users.isSessionActive(session))
            let answer = try await server.http("POST", "/api/auth/logout", as: .token(access))
            #expect(answer.status == 204)
            #expect(try await server.http("GET", "/api/agents", as: .token(access)).status == 401)
            #expect(try await Self.refresh(server, refresh).status == 401)
            #expect(try await server.http("GET", "/api/agents", as: .token(other)).status == 200, "another session is not affected")
            #expect(await !server.server.users.isSessionActive(session))
        }
    }

    @Test("an access token expires after auth.access_token_ttl; the refresh token still gives a new one")
    func expiry() async throws {
        try await TestServer.with({ $0.auth.accessTokenTTL = .seconds(1); $0.auth.refreshTokenTTL = .seconds(60) }) { server in
            let login = try #require(try await server.signIn(TestServer.adminName, TestServer.adminPassword).json as? [String: Any])
            let access = try #require(login["access_token"] as? String)
            #expect(login["expires_in"] as? Int == 1)
            #expect(try await server.http("GET", "/api/agents", as: .token(access)).status == 200)
            try await eventually(timeout: .seconds(5), "the access token to expire") {
                try await server.http("GET", "/api/agents", as: .token(access)).status == 401
            }
            let refreshed = try await Self.refresh(server, try #require(login["refresh_token"] as? String))
            #expect(refreshed.status == 200)
            let fresh = try #require((refreshed.json as? [String: Any])?["access_token"] as? String)
            #expect(try await server.http("GET", "/api/agents", as: .token(fresh)).status == 200)
        }
    }

    @Test("changing one's password needs the current one, ends the other sessions and keeps this one")
    func changePassword() async throws {
        try await TestServer.with { server in
            let token = try await server.user("pat", role: .viewer, password: "pat-password-1")
            let other = try await server.accessToken("pat", "pat-password-1")
            func change(_ current: String, _ new: String) async throws -> Int {
                try await server.http("POST", "/api/auth/password", headers: ["Content-Type": "application/json"],
                                      body: try Self.json(["current_password": current, "new_password": new]), as: .token(token)).status
            }
            #expect(try await change("wrong-password", "pat-password-2") == 403)
            #expect(try await change("pat-password-1", "short") == 400)
            #expect(try await change("pat-password-1", "pat-password-2") == 204)
            #expect(try await server.http("GET", "/api/agents", as: .token(token)).status == 200, "this session goes on")
            #expect(try await server.http("GET", "/api/agents", as: .token(other)).status == 401, "the other one ended")
            #expect(try await server.signIn("pat", "pat-password-1").status == 401)
            #expect(try await server.signIn("pat", "pat-password-2").status == 200)
            #expect(!server.logs.contains("pat-password"))
        }
    }

    @Test("admins manage users: add, list, change role (at once), reset password, remove; the last admin stays")
    func manageUsers() async throws {
        try await TestServer.with { server in
            let viewer = try await server.user("vic", role: .viewer, password: "vic-password-1")
            let list = try await server.http("GET", "/api/users")
            #expect(list.status == 200)
            let users = try #require(list.json as? [[String: Any]])
            #expect(users.map { $0["name"] as? String } == ["admin", "vic"])
            #expect(users.allSatisfy { $0["password_hash"] == nil })
            func send(_ method: String, _ path: String, _ body: [String: Any]) async throws -> (status: Int, headers: [String: String], json: Any?) {
                try await server.http(method, path, headers: ["Content-Type": "application/json"], body: try Self.json(body))
            }
            #expect(try await send("POST", "/api/users", ["name": "vic", "password": "another-password", "role": "viewer"]).status == 409)
            #expect(try await send("POST", "/api/users", ["name": "bad name", "password": "another-password", "role": "viewer"]).status == 400)
            #expect(try await send("POST", "/api/users", ["name": "newbie", "password": "short", "role": "viewer"]).status == 400)
            #expect(try await send("POST", "/api/users", ["name": "newbie", "password": "long-enough-1", "role": "root"]).status == 400)

            let message = try Self.json(["content": "hello everyone"])
            #expect(try await server.http("POST", "/api/messages", headers: ["Content-Type": "application/json"], body: message, as: .token(viewer)).status == 403)
            let promoted = try await send("PATCH", "/api/users/vic", ["role": "operator"])
            #expect(promoted.status == 200 && (promoted.json as? [String: Any])?["role"] as? String == "operator")
            #expect(try await server.http("POST", "/api/messages", headers: ["Content-Type": "application/json"], body: message, as: .token(viewer)).status == 201, "the new role counts at once")
            #expect(try await send("PATCH", "/api/users/vic", [:]).status == 400)
            #expect(try await send("PATCH", "/api/users/nobody", ["role": "admin"]).status == 404)

            #expect(try await send("PATCH", "/api/users/vic", ["password": "vic-password-2"]).status == 200)
            #expect(try await server.http("GET", "/api/agents", as: .token(viewer)).status == 401, "a reset password ends the user's sessions")
            #expect(try await server.signIn("vic", "vic-password-2").status == 200)

            let demote = try await send("PATCH", "/api/users/admin", ["role": "viewer"])
            #expect(demote.status == 409 && (demote.json as? [String: Any])?["error"] as? String == "last_admin")
            #expect(try await server.http("DELETE", "/api/users/admin").status == 409)
            let vic = try await server.accessToken("vic", "vic-password-2")
            #expect(try await server.http("DELETE", "/api/users/vic").status == 204)
            #expect(try await server.http("GET", "/api/agents", as: .token(vic)).status == 401, "a removed user's sessions end")
            #expect(try await server.http("DELETE", "/api/users/vic").status == 404)
            #expect(server.logs.contains("action=remove_user") && server.logs.contains("target=vic"))
        }
    }

    @Test("changes made on the store (vigil users, another server) reach the running server within auth.reload_interval")
    func reload() async throws {
        try await TestServer.with({ $0.auth.reloadInterval = .milliseconds(100) }) { server in
            let token = try await server.user("remote", role: .viewer, password: "remote-password")
            _ = try await server.store.updateUser(named: "remote", role: .operator, passwordHash: nil, at: Date())
            try await eventually(timeout: .seconds(5), "the new role") {
                await server.server.users.verify(accessToken: token)?.role == .operator
            }
            _ = try await server.store.deleteUser(named: "remote", at: Date())
            try await eventually(timeout: .seconds(5), "the removed user's token to be refused") {
                await server.server.users.verify(accessToken: token) == nil
            }
        }
    }

    @Test("the first admin comes from auth.initial_admin_password without the password being logged")
    func firstAdminFromSettings() async throws {
        try await TestServer.with { server in
            #expect(server.logs.contains("created the first admin with the password from auth.initial_admin_password"))
            #expect(!server.logs.contains(TestServer.adminPassword))
            #expect(server.server.users.generatedAdmin == nil)
            #expect(try await server.store.users().map(\.role) == [.admin])
            let hash = try #require(try await server.store.user(named: TestServer.adminName)?.passwordHash)
            #expect(hash.hasPrefix("$2b$04$"), "bcrypt at auth.bcrypt_cost")
        }
    }

    @Test("with no password set, the first admin's is generated and logged once at notice level; later starts never show it")
    func firstAdminGenerated() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-test-\(UUID().uuidString)")
        var password = ""
        try await TestServer.with(directory: directory, keepingFiles: true, { $0.auth.initialAdminPassword = nil }) { server in
            let lines = server.logs.all.filter { $0.contains("will not be shown again") }
            #expect(lines.count == 1)
            let line = try #require(lines.first)
            #expect(line.hasPrefix("notice "))
            let generated = try #require(server.server.users.generatedAdmin)
            password = generated.password
            #expect(line.contains(password) && password.count >= 20)
            #expect(try await server.accessToken("admin", password).isEmpty == false)
        }
        let generatedPassword = password
        try await TestServer.with(directory: directory, { $0.auth.initialAdminPassword = nil }) { server in
            #expect(!server.logs.contains("will not be shown again"))
            #expect(!server.logs.contains(generatedPassword))
            #expect(server.server.users.generatedAdmin == nil)
            let token = try await server.accessToken("admin", generatedPassword)
            #expect(!token.isEmpty, "the same admin, the same password")
        }
    }

    @Test("admins manage agent keys over HTTP: the token is shown once and works; a revoked key is refused")
    func keys() async throws {
        try await TestServer.with { server in
            let created = try await server.http("POST", "/api/keys", headers: ["Content-Type": "application/json"], body: try Self.json(["hostname": "web-7"]))
            #expect(created.status == 201)
            let body = try #require(created.json as? [String: Any])
            let token = try #require(body["token"] as? String)
            let id = try #require(body["id"] as? String)
            #expect(body["hostname"] as? String == "web-7")
            let list = try #require(try await server.http("GET", "/api/keys").json as? [[String: Any]])
            #expect(list.contains { $0["id"] as? String == id } && list.allSatisfy { $0["token"] == nil })
            let document = try JSONSerialization.data(withJSONObject: ["cpu": ["cpu_percent_total": 1.5, "cpu_count_logical": 2]])
            #expect(try await server.http("POST", "/api/metrics", headers: ["X-API-Key": token, "Content-Type": "application/json"], body: document, as: .anonymous).status == 200)
            #expect(try await server.http("POST", "/api/keys", headers: ["Content-Type": "application/json"], body: try Self.json(["hostname": "bad host!"])).status == 400)
            #expect(try await server.http("DELETE", "/api/keys/\(id)").status == 204)
            #expect(try await server.http("DELETE", "/api/keys/nosuchkey123").status == 404)
            #expect(try await server.http("POST", "/api/metrics", headers: ["X-API-Key": token, "Content-Type": "application/json"], body: document, as: .anonymous).status == 401)
            #expect(!server.logs.contains(token))
        }
    }

    @Test("settings: bad auth values are refused by name; the initial password is never echoed or printed")
    func settings() async throws {
        await #expect(throws: ConfigurationError.self) { try await ServerSettings.load(environment: ["VIGIL_AUTH_BCRYPT_COST": "3"]) }
        await #expect(throws: ConfigurationError.self) { try await ServerSettings.load(environment: ["VIGIL_AUTH_ACCESS_TOKEN_TTL": "10m", "VIGIL_AUTH_REFRESH_TOKEN_TTL": "1m"]) }
        do {
            _ = try await ServerSettings.load(environment: ["VIGIL_AUTH_INITIAL_ADMIN_PASSWORD": "tiny-pw"])
            Issue.record("a password under auth.min_password_length was accepted")
        } catch let error as ConfigurationError {
            #expect(error.description.contains("auth.initial_admin_password") && !error.description.contains("tiny-pw"))
        }
        let loaded = try await ServerSettings.load(environment: ["VIGIL_AUTH_INITIAL_ADMIN_PASSWORD": "a-secret-password", "VIGIL_AUTH_LOGIN_FAILURES_PER_USER": "7"])
        #expect(loaded.auth.initialAdminPassword == "a-secret-password" && loaded.auth.loginFailuresPerUser == 7)
        #expect(!"\(loaded)".contains("a-secret-password") && !String(reflecting: loaded).contains("a-secret-password"))
    }
}

extension AuthTests {
    /// `count` sign-ins as the admin at once, each with its (password, address); the outcomes:
    /// `signed-in`, `throttled` (refused before the password was checked) or `failed`.
    static func parallelGuesses(_ users: UserService, count: Int, _ guess: @escaping @Sendable (Int) -> (password: String, address: String)) async -> [String] {
        await withTaskGroup(of: String.self) { group in
            for index in 0..<count {
                group.addTask {
                    let (password, address) = guess(index)
                    do {
                        _ = try await users.signIn(name: TestServer.adminName, password: password, address: address)
                        return "signed-in"
                    } catch AuthFailure.throttled {
                        return "throttled"
                    } catch {
                        return "failed"
                    }
                }
            }
            return await group.reduce(into: [String]()) { $0.append($1) }
        }
    }
}
