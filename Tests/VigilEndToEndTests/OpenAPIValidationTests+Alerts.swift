import Foundation
import Testing

extension OpenAPIValidationTests {
    /// Rules, alerts, acknowledgements, silences, channels and the delivery log: every documented
    /// answer but 401/403 (exerciseAuth's loops call these routes without a token and as a viewer).
    static func exerciseAlerts(_ log: ExchangeLog, port main: Int, fleet: Fleet) async throws {
        @discardableResult
        func call(_ method: String, _ template: String, _ path: String? = nil, _ body: String? = nil,
                  expect status: Int, error code: String? = nil, _ note: String = "", sourceLocation: SourceLocation = #_sourceLocation) throws -> Any? {
            try log.call(method, port: main, template: template, path: path ?? template, headers: body == nil ? [:] : ["Content-Type": "application/json"],
                         body: body.map { Data($0.utf8) }, expect: status, error: code, note: note, sourceLocation: sourceLocation)
        }
        // A rule of the API that fires at once for every host sending CPU figures.
        let always = #"{"name": "always", "series": "cpu.percent", "aggregate": "last", "op": ">=", "threshold": 0, "severity": "warning", "summary": "{{host}} has a CPU"}"#
        try call("POST", "/api/rules", nil, always, expect: 201)
        try call("POST", "/api/rules", nil, #"{"name": "temp", "kind": "no_data", "for": "10m"}"#, expect: 201, "a built-in kind")
        try call("POST", "/api/rules", nil, #"{"name": "bad", "series": "cpu.nonsense", "threshold": 1}"#, expect: 422, error: "invalid_field", "unknown series")
        try call("POST", "/api/rules", nil, #"{"name": "bad", "series": "cpu.percent", "threshold": 1, "for": "5 parsecs"}"#, expect: 400, error: "invalid_json", "bad duration")
        try call("POST", "/api/rules", nil, #"{"name": "cpu_high", "series": "cpu.percent", "threshold": 1}"#, expect: 409, error: "read_only", "a shipped rule")
        try call("GET", "/api/rules", expect: 200)
        let rule = "/api/rules/{name}"
        try call("GET", rule, "/api/rules/always", expect: 200)
        try call("GET", rule, "/api/rules/nosuch", expect: 404, error: "not_found")
        try call("PUT", rule, "/api/rules/always", always, expect: 200)
        try call("PUT", rule, "/api/rules/other", always, expect: 400, error: "invalid_field", "names differ")
        try call("PUT", rule, "/api/rules/cpu_high", #"{"name": "cpu_high", "series": "cpu.percent", "threshold": 1}"#, expect: 409, error: "read_only")
        try call("PUT", rule, "/api/rules/temp", #"{"name": "temp", "series": "cpu.percent", "window": "0s", "threshold": 1}"#, expect: 422, error: "invalid_field", "empty window")
        try call("DELETE", rule, "/api/rules/temp", expect: 204)
        try call("DELETE", rule, "/api/rules/temp", expect: 404, error: "not_found")
        try call("DELETE", rule, "/api/rules/host_down", expect: 409, error: "read_only")

        // The alert fires with alpha's next sample.
        let id = try await waitFor("the always rule to fire on alpha", timeout: .seconds(30)) { () -> Int? in
            let alerts = (try await fleet.api.get("/api/alerts") as? [String: Any])?["alerts"] as? [[String: Any]] ?? []
            return alerts.first { $0["rule"] as? String == "always" && $0["hostname"] as? String == "alpha" && $0["status"] as? String == "firing" }?["id"] as? Int
        }
        try call("GET", "/api/alerts", expect: 200)
        try call("GET", "/api/alerts/history", "/api/alerts/history?host=alpha&rule=always&limit=1", expect: 200)
        try call("GET", "/api/alerts/history", "/api/alerts/history?limit=0", expect: 400, error: "invalid_parameter")
        try call("GET", "/api/alerts/evaluation", expect: 200)
        let alert = "/api/alerts/{id}"
        try call("GET", alert, "/api/alerts/\(id)", expect: 200)
        try call("GET", alert, "/api/alerts/abc", expect: 400, error: "invalid_parameter")
        try call("GET", alert, "/api/alerts/999999", expect: 404, error: "not_found")
        let ack = "/api/alerts/{id}/ack"
        try call("POST", ack, "/api/alerts/\(id)/ack", #"{"comment": "on it"}"#, expect: 200)
        try call("POST", ack, "/api/alerts/\(id)/ack", "not json", expect: 400, error: "invalid_json")
        try call("POST", ack, "/api/alerts/999999/ack", "{}", expect: 404, error: "not_found")

        // Silences.
        let created = try call("POST", "/api/silences", nil, #"{"matchers": ["host=alpha", "alertname=~al.*"], "duration": "1h", "comment": "maintenance"}"#, expect: 201) as? [String: Any]
        let silenceID = created?["id"] as? String ?? "x"
        try call("POST", "/api/silences", nil, #"{"matchers": ["host=~("], "duration": "1h"}"#, expect: 400, error: "invalid_field", "bad regular expression")
        try call("POST", "/api/silences", nil, #"{"matchers": ["host=a"], "starts_at": "2026-12-08T10:00:00Z", "ends_at": "2026-12-08T09:00:00Z"}"#, expect: 422, error: "invalid_field", "end before start")
        try call("GET", "/api/silences", expect: 200)
        let silence = "/api/silences/{id}"
        try call("GET", silence, "/api/silences/\(silenceID)", expect: 200)
        try call("GET", silence, "/api/silences/nosuch", expect: 404, error: "not_found")
        try call("DELETE", silence, "/api/silences/\(silenceID)", expect: 200)
        try call("DELETE", silence, "/api/silences/nosuch", expect: 404, error: "not_found")

        // Channels and the delivery log (none configured here: the alerting end-to-end tests deliver).
        try call("GET", "/api/channels", expect: 200)
        try call("GET", "/api/notifications", "/api/notifications?state=dead&limit=5", expect: 200)
        try call("GET", "/api/notifications", "/api/notifications?state=lost", expect: 400, error: "invalid_parameter")
    }
}
