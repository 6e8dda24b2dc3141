import Foundation
import Testing
import VigilAlerting
import VigilServer

/// What people can get wrong in rules, silences and the alerting file, each answered precisely.
@Suite struct AlertingBadInputTests {
    static func post(_ server: TestServer, _ path: String, _ json: String, method: String = "POST") async throws -> (status: Int, detail: String) {
        let answer = try await server.http(method, path, headers: ["Content-Type": "application/json"], body: Data(json.utf8))
        let detail = ((answer.json as? [String: Any])?["detail"] as? String) ?? ""
        return (answer.status, detail)
    }

    @Test func rulesThroughTheAPIAreValidated() async throws {
        try await TestServer.with { server in
            let unknown = try await Self.post(server, "/api/rules", #"{"name":"x","series":"cpu.nonsense","threshold":1}"#)
            #expect(unknown.status == 422 && unknown.detail.contains("unknown series"))
            let window = try await Self.post(server, "/api/rules", #"{"name":"x","series":"cpu.percent","window":"0s","threshold":1}"#)
            #expect(window.status == 422 && window.detail.contains("window"))
            let nan = try await Self.post(server, "/api/rules", #"{"name":"x","series":"cpu.percent","threshold":NaN}"#)
            #expect(nan.status == 400)
            let side = try await Self.post(server, "/api/rules", #"{"name":"x","series":"cpu.percent","threshold":90,"recovery":95}"#)
            #expect(side.status == 422 && side.detail.contains("wrong side"))
            let duration = try await Self.post(server, "/api/rules", #"{"name":"x","series":"cpu.percent","threshold":90,"for":"5 parsecs"}"#)
            #expect(duration.status == 400 && duration.detail.contains("for"))
            let builtIn = try await Self.post(server, "/api/rules", #"{"name":"cpu_high","series":"cpu.percent","threshold":10}"#)
            #expect(builtIn.status == 409)
            let good = try await Self.post(server, "/api/rules", #"{"name":"load_high","series":"load.1","threshold":8,"for":"1m"}"#)
            #expect(good.status == 201)
            let listed = try await server.http("GET", "/api/rules/load_high")
            #expect((listed.json as? [String: Any])?["origin"] as? String == "api")
            #expect(try await server.http("DELETE", "/api/rules/load_high").status == 204)
            #expect(try await server.http("DELETE", "/api/rules/load_high").status == 404)
            // Writing rules is for admins.
            let operatorToken = try await server.user("otto", role: .operator)
            let refused = try await server.http("POST", "/api/rules", headers: ["Content-Type": "application/json"], body: Data(#"{"name":"a","kind":"host_down"}"#.utf8), as: .token(operatorToken))
            #expect(refused.status == 403)
        }
    }

    @Test func silencesAreValidated() async throws {
        try await TestServer.with { server in
            let backwards = try await Self.post(server, "/api/silences", #"{"matchers":["host=a"],"starts_at":"2026-12-08T10:00:00Z","ends_at":"2026-12-08T09:00:00Z"}"#)
            #expect(backwards.status == 422 && backwards.detail.contains("ends_at"))
            let none = try await Self.post(server, "/api/silences", #"{"matchers":[],"duration":"1h"}"#)
            #expect(none.status == 422 && none.detail.contains("matcher"))
            let regex = try await Self.post(server, "/api/silences", #"{"matchers":["host=~("],"duration":"1h"}"#)
            #expect(regex.status == 400 && regex.detail.contains("regular expression"))
            let noEnd = try await Self.post(server, "/api/silences", #"{"matchers":["host=a"]}"#)
            #expect(noEnd.status == 400)
        }
    }

    @Test func alertingFileErrorsNameThePlace() throws {
        #expect(throws: AlertingConfigurationError.self) { _ = try AlertingFile.parse("rules: [ {name: x") }
        do {
            _ = try AlertingFile.parse("rules:\n  - name: x\n    series: cpu.percent\n    threshold: 1\n    window: 5 parsecs\n")
            Issue.record("accepted a bad duration")
        } catch {
            #expect(error.description.contains("[0].window") || error.description.contains("window"))
        }
        do {
            _ = try AlertingFile.parse("rulez: []")
            Issue.record("accepted an unknown key")
        } catch {
            #expect(error.description.contains("rulez"))
        }
        do {
            _ = try AlertingFile.parse("rules:\n  - name: x\n    series: cpu.percent\n    threshold: .nan\n")
            Issue.record("accepted a NaN threshold")
        } catch {
            #expect(error.description.contains(".nan is not a usable number"))
        }
    }

    @Test func aServerRefusesToStartWithABadAlertingFile() async throws {
        let path = try alertingFile("rules:\n  - name: x\n    series: cpu.percent\n    threshold: 90\n    recovery: 99\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        await #expect(throws: AlertingConfigurationError.self) {
            let server = try await TestServer.start { $0.alerting.file = path }
            await server.stop()
        }
    }

    @Test func routesMustNameChannelsThatExist() async throws {
        let path = try alertingFile("routes:\n  - channels: [nowhere]\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            let server = try await TestServer.start { $0.alerting.file = path }
            await server.stop()
            Issue.record("started with a route to no channel")
        } catch {
            #expect("\(error)".contains("nowhere"))
        }
    }
}
