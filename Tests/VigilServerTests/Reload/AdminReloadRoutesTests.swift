import Foundation
import Testing
@testable import VigilServer

/// `POST /api/admin/reload` and `GET /api/admin/reloads`: who may call them and what they answer.
@Suite("Admin reload routes", .serialized)
struct AdminReloadRoutesTests {
    @Test("viewers and operators are refused (403), no token is 401; an admin reloads and reads the outcomes")
    func access() async throws {
        let fixture = try ReloadFixture()
        try fixture.write("metrics:\n  rate_limit: 5\n")
        try await fixture.withServer { server in
            let viewer = try await server.user("vic", role: .viewer)
            let operatorToken = try await server.user("otto", role: .operator)
            for caller in [TestServer.Caller.token(viewer), .token(operatorToken)] {
                #expect(try await server.http("POST", "/api/admin/reload", as: caller).status == 403)
                #expect(try await server.http("GET", "/api/admin/reloads", as: caller).status == 403)
            }
            #expect(try await server.http("POST", "/api/admin/reload", as: .anonymous).status == 401)
            #expect(try await server.http("GET", "/api/admin/reloads", as: .anonymous).status == 401)
            // Refused calls reloaded nothing.
            #expect(await server.server.reloader.history.isEmpty)

            try fixture.write("metrics:\n  rate_limit: 9\nagents:\n  max_connections: 50\n")
            let reloaded = try await server.http("POST", "/api/admin/reload")
            #expect(reloaded.status == 200)
            let body = try #require(reloaded.json as? [String: Any])
            #expect(body["changed"] as? [String] == ["metrics.rate_limit"])
            #expect(body["restart_required"] as? [String] == ["agents.max_connections"])
            #expect(body["trigger"] as? String == "api")
            #expect(body["user"] as? String == TestServer.adminName)
            #expect(server.server.liveSettings.current.metricsRateLimit == 9)
        }
    }

    @Test("an invalid configuration answers 422 invalid_configuration with the precise error, and the list records it")
    func invalidConfiguration() async throws {
        let fixture = try ReloadFixture()
        try fixture.write("metrics:\n  rate_limit: 5\n")
        try await fixture.withServer { server in
            try fixture.write("metrics:\n  rate_limit: lots\n")
            let refused = try await server.http("POST", "/api/admin/reload")
            #expect(refused.status == 422)
            let error = try #require(refused.json as? [String: Any])
            #expect(error["error"] as? String == "invalid_configuration")
            #expect((error["detail"] as? String)?.contains(#"metrics.rate_limit: expected a number in 0.001...10000.0, got "lots""#) == true, "\(error)")
            #expect(server.server.liveSettings.current.metricsRateLimit == 5)

            let list = try await server.http("GET", "/api/admin/reloads")
            #expect(list.status == 200)
            let outcomes = try #require(list.json as? [[String: Any]])
            #expect(outcomes.count == 1)
            #expect(outcomes.first?["success"] as? Bool == false)
            #expect((outcomes.first?["error"] as? String)?.contains("metrics.rate_limit") == true)
            #expect(outcomes.first?["user"] as? String == TestServer.adminName)
        }
    }
}
