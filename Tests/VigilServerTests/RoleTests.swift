import Foundation
import Testing
import VigilStore
@testable import VigilServer

/// Every write route with every role: 401 without a token, 403 for a role too low, allowed for
/// the role it needs (and above); every read route: 401 without a token, allowed for a viewer.
@Suite("Roles on every route", .serialized)
struct RoleTests {
    /// A request to make; built per caller, so a route that removes something gets a fresh target each time.
    struct Call: Sendable {
        var method: String
        var path: String
        var body: [String: String]?
    }

    /// A write route, the least role it needs, and the status it answers when allowed.
    struct WriteRoute: Sendable {
        var name: String
        var needs: UserRole
        var allowed: Int
        var make: @Sendable (TestServer, String) async throws -> Call
    }

    static func writeRoutes() -> [WriteRoute] {
        [
            WriteRoute(name: "POST /api/messages", needs: .operator, allowed: 201) { _, _ in
                Call(method: "POST", path: "/api/messages", body: ["content": "maintenance at noon"])
            },
            // The file does not exist: passing the role check is what counts (then 404 not_found).
            WriteRoute(name: "POST /api/files/{id}/push", needs: .operator, allowed: 404) { _, _ in
                Call(method: "POST", path: "/api/files/\(UUID().uuidString.lowercased())/push", body: ["to": "web-1"])
            },
            WriteRoute(name: "POST /api/users", needs: .admin, allowed: 201) { _, tag in
                Call(method: "POST", path: "/api/users", body: ["name": "new-\(tag)", "password": "password-of-new", "role": "viewer"])
            },
            WriteRoute(name: "PATCH /api/users/{name}", needs: .admin, allowed: 200) { server, tag in
                _ = try await server.user("patch-\(tag)", role: .viewer)
                return Call(method: "PATCH", path: "/api/users/patch-\(tag)", body: ["role": "operator"])
            },
            WriteRoute(name: "DELETE /api/users/{name}", needs: .admin, allowed: 204) { server, tag in
                _ = try await server.user("delete-\(tag)", role: .viewer)
                return Call(method: "DELETE", path: "/api/users/delete-\(tag)")
            },
            WriteRoute(name: "POST /api/keys", needs: .admin, allowed: 201) { _, tag in
                Call(method: "POST", path: "/api/keys", body: ["hostname": "host-\(tag)"])
            },
            WriteRoute(name: "DELETE /api/keys/{id}", needs: .admin, allowed: 204) { server, tag in
                let key = try await server.store.createKey(hostname: "revoke-\(tag)")
                return Call(method: "DELETE", path: "/api/keys/\(key.key.id)")
            },
            WriteRoute(name: "POST /api/auth/password", needs: .viewer, allowed: 403) { _, _ in
                // Allowed to try: the wrong current password is the answer (403 wrong_password), not the role.
                Call(method: "POST", path: "/api/auth/password", body: ["current_password": "not-it-at-all", "new_password": "whatever-password"])
            },
        ]
    }

    /// Read routes (a viewer may call each; the answer may be 404 for a name that does not exist).
    static let readRoutes: [(path: String, allowed: Int)] = [
        ("/api/agents", 200), ("/api/agents/nosuch", 404), ("/api/events", 200), ("/api/storage", 200),
        ("/api/servers", 200), ("/api/servers/nosuch/current", 404), ("/api/servers/nosuch/disk", 404),
        ("/api/servers/nosuch/network", 404), ("/api/servers/nosuch/processes", 404), ("/api/servers/nosuch/metrics", 404),
        ("/api/servers/nosuch/history?metric=cpu.percent", 404), ("/api/servers/nosuch/stats", 404), ("/api/servers/nosuch/events", 404),
        ("/api/messages", 200), ("/api/files", 200), ("/api/files/\(UUID().uuidString.lowercased())", 404), ("/api/auth/me", 200),
    ]

    static func request(_ server: TestServer, _ call: Call, as caller: TestServer.Caller) async throws -> (status: Int, headers: [String: String], json: Any?) {
        let body = try call.body.map { try JSONSerialization.data(withJSONObject: $0) }
        return try await server.http(call.method, call.path, headers: body == nil ? [:] : ["Content-Type": "application/json"], body: body, as: caller)
    }

    @Test("every write route: 401 without a token, 403 below its role, allowed from its role up")
    func writes() async throws {
        try await TestServer.with { server in
            var tokens: [UserRole: String] = [.admin: try await server.adminAccessToken()]
            tokens[.viewer] = try await server.user("a-viewer", role: .viewer)
            tokens[.operator] = try await server.user("an-operator", role: .operator)
            var counter = 0
            for route in Self.writeRoutes() {
                counter += 1
                let anonymous = try await Self.request(server, try await route.make(server, "anon\(counter)"), as: .anonymous)
                #expect(anonymous.status == 401, "\(route.name) without a token")
                #expect((anonymous.json as? [String: Any])?["error"] as? String == "unauthorized", "\(route.name)")
                #expect(anonymous.headers["www-authenticate"]?.hasPrefix("Bearer") == true, "\(route.name)")
                for role in UserRole.allCases {
                    counter += 1
                    let answer = try await Self.request(server, try await route.make(server, "\(role.rawValue)\(counter)"), as: .token(tokens[role]!))
                    if role.allows(route.needs) {
                        #expect(answer.status == route.allowed, "\(route.name) as \(role.rawValue): \(answer.json ?? "-")")
                        #expect((answer.json as? [String: Any])?["error"] as? String != "forbidden", "\(route.name) as \(role.rawValue)")
                    } else {
                        #expect(answer.status == 403, "\(route.name) as \(role.rawValue)")
                        #expect((answer.json as? [String: Any])?["error"] as? String == "forbidden", "\(route.name) as \(role.rawValue)")
                    }
                }
            }
            // Sign-out last (it ends the sessions used above): any role may.
            for role in UserRole.allCases {
                #expect(try await server.http("POST", "/api/auth/logout", as: .token(tokens[role]!)).status == 204, "logout as \(role.rawValue)")
            }
            #expect(try await server.http("POST", "/api/auth/logout", as: .anonymous).status == 401)
            #expect(server.logs.contains("action=send_message") && server.logs.contains("user=an-operator"), "sending is audited with the user")
        }
    }

    @Test("every read route: 401 without a token, allowed for a viewer; admin-only lists refuse a viewer and an operator")
    func reads() async throws {
        try await TestServer.with { server in
            let viewer = try await server.user("reader", role: .viewer)
            let operatorToken = try await server.user("op", role: .operator)
            for (path, allowed) in Self.readRoutes {
                #expect(try await server.http("GET", path, as: .anonymous).status == 401, "GET \(path) without a token")
                #expect(try await server.http("GET", path, as: .token(viewer)).status == allowed, "GET \(path) as a viewer")
            }
            for path in ["/api/users", "/api/keys"] {
                #expect(try await server.http("GET", path, as: .anonymous).status == 401)
                #expect(try await server.http("GET", path, as: .token(viewer)).status == 403)
                #expect(try await server.http("GET", path, as: .token(operatorToken)).status == 403)
                #expect(try await server.http("GET", path).status == 200)
            }
        }
    }

    @Test("open routes need no token: health, sign-in, refresh, metrics (agent key); unknown API paths need one; the dashboard is public")
    func openRoutes() async throws {
        try await TestServer.with { server in
            #expect(try await server.http("GET", "/api/health", as: .anonymous).status == 200)
            #expect(try await server.http("POST", "/api/metrics", as: .anonymous).status == 401, "the agent key, not a user")
            let withUser = try await server.http("POST", "/api/metrics")
            #expect(withUser.status == 401 && (withUser.json as? [String: Any])?["error"] as? String == "key_required", "a user token is no agent key")
            #expect(try await server.http("GET", "/api/nosuch", as: .anonymous).status == 401, "unknown API paths: the token is checked first")
            #expect(try await server.http("GET", "/api/nosuch").status == 404)
            #expect(try await server.http("GET", "//api/agents", as: .anonymous).status == 401, "an odd spelling does not slip past")
            // Other spellings of an admin route: each gets the route's rule (or 401/404), never an open door.
            let viewer = try await server.user("spelling", role: .viewer)
            for path in ["/api/users/", "//api/users", "/api//users", "/api/%75sers", "/api/users?x=1", "/api/keys/"] {
                #expect(try await server.http("GET", path, as: .anonymous).status == 401, "\(path) without a token")
                #expect([403, 404].contains(try await server.http("GET", path, as: .token(viewer)).status), "\(path) as a viewer")
            }
            #expect(try await server.http("HEAD", "/api/agents", as: .anonymous).status == 401, "HEAD is checked like GET")
            #expect(try await server.http("HEAD", "/api/users", as: .token(viewer)).status != 200)
        }
    }

    @Test("the access table: odd spellings and unknown writes default to the strictest rule")
    func accessTable() {
        #expect(RouteAccess.required(method: .get, path: "/") == .open)
        #expect(RouteAccess.required(method: .get, path: "/assets/app.js") == .open)
        #expect(RouteAccess.required(method: .get, path: "/api/health") == .open)
        #expect(RouteAccess.required(method: .get, path: "/metrics") == .viewerOrScrapeToken)
        #expect(RouteAccess.required(method: .get, path: "/metrics/fleet") == .viewerOrScrapeToken)
        #expect(RouteAccess.required(method: .post, path: "/api/metrics") == .open)
        #expect(RouteAccess.required(method: .get, path: "/api/metrics") == .role(.viewer))
        #expect(RouteAccess.required(method: .post, path: "/api/auth/login") == .open)
        #expect(RouteAccess.required(method: .get, path: "/api/stream") == .open)
        #expect(RouteAccess.required(method: .get, path: "/api/users") == .role(.admin))
        #expect(RouteAccess.required(method: .get, path: "/api/keys/{id}") == .role(.admin))
        #expect(RouteAccess.required(method: .post, path: "/api/files/{id}/push") == .role(.operator))
        #expect(RouteAccess.required(method: .post, path: "/api/messages") == .role(.operator))
        #expect(RouteAccess.required(method: .delete, path: "/api/servers/{hostname}") == .role(.admin))
        #expect(RouteAccess.required(method: .put, path: "/api/agents/{hostname}") == .role(.admin))
        #expect(RouteAccess.required(method: .get, path: "/api") == .role(.viewer))
    }
}
