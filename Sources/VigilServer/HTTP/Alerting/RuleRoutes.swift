import Foundation
import Hummingbird
import VigilAlerting

/// `/api/rules*`: the rules in force (viewers read; admins write the API's own rules) and the channels (names and kinds).
struct RuleRoutes: Sendable {
    let alerts: AlertService

    struct RuleList: Encodable {
        var rules: [AlertRule]
    }

    struct ChannelList: Encodable {
        struct Channel: Encodable {
            var name: String
            var kind: String
        }
        var channels: [Channel]
        var routes: [NotificationRoute]
    }

    func register(on api: RouterGroup<VigilRequestContext>) {
        api.get("rules") { _, _ in try JSONResponse.make(RuleList(rules: await self.alerts.rules.rules)) }
        api.get("rules/:name") { _, context in
            let name = try context.parameters.require("name")
            guard let rule = await self.alerts.rules.rule(named: name) else { throw APIError(.notFound, "not_found", "no rule is named \(name.prefix(128))") }
            return try JSONResponse.make(rule)
        }
        api.post("rules") { request, context in
            let user = try AuthRoutes.signedIn(context)
            let rule: AlertRule = try await SilenceRoutes.decode(request, expected: Self.expected)
            return try await AlertRoutes.answer {
                try JSONResponse.make(try await self.alerts.saveRule(rule, by: user.name), status: .created)
            }
        }
        api.put("rules/:name") { request, context in
            let user = try AuthRoutes.signedIn(context)
            let name = try context.parameters.require("name")
            let rule: AlertRule = try await SilenceRoutes.decode(request, expected: Self.expected)
            guard rule.name == name else { throw APIError(.badRequest, "invalid_field", "the body's name (\(rule.name.prefix(128))) differs from the path's (\(name.prefix(128)))") }
            return try await AlertRoutes.answer { try JSONResponse.make(try await self.alerts.saveRule(rule, by: user.name)) }
        }
        api.delete("rules/:name") { _, context in
            let user = try AuthRoutes.signedIn(context)
            let name = try context.parameters.require("name")
            return try await AlertRoutes.answer {
                try await self.alerts.deleteRule(named: name, by: user.name)
                return Response(status: .noContent)
            }
        }
        api.get("channels") { _, _ in
            let channels = await self.alerts.channels.map { ChannelList.Channel(name: $0.name, kind: $0.kind) }
            return try JSONResponse.make(ChannelList(channels: channels, routes: await self.alerts.routing.routes))
        }
    }

    static let expected = #"{"name": "cpu_high", "series": "cpu.percent", "aggregate": "avg", "window": "1m", "op": ">", "threshold": 80, "recovery": 75, "for": "5m", "severity": "warning"}"#
}
