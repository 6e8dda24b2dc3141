/// The routes in force, checked against the channels that exist.
public struct RoutingTable: Sendable, Equatable {
    public private(set) var routes: [NotificationRoute]

    /// - Parameters:
    ///   - routes: As configured; empty means one route to every channel.
    ///   - channels: The names of the configured channels.
    public init(routes: [NotificationRoute], channels: [String]) throws(RuleValidationError) {
        for (index, route) in routes.enumerated() {
            func fail(_ field: String, _ problem: String) -> RuleValidationError { RuleValidationError(rule: "route \(index + 1)", field: field, problem: problem) }
            guard !route.channels.isEmpty else { throw fail("channels", "a route needs at least one channel") }
            for name in route.channels where !channels.contains(name) {
                throw fail("channels", "no channel is named \(name.debugDescription) (channels: \(channels.sorted().joined(separator: ", ")))")
            }
            guard route.repeatInterval >= NotificationRoute.minimumRepeatInterval else { throw fail("repeat_interval", "at least \(NotificationRoute.minimumRepeatInterval)") }
            guard route.groupWait <= .minutes(60) else { throw fail("group_wait", "at most 1h") }
        }
        self.routes = routes.isEmpty && !channels.isEmpty ? [NotificationRoute(channels: channels.sorted())] : routes
    }

    public init() { self.routes = [] }

    /// The routes an alert with these labels takes, in order.
    public func routes(for labels: [String: String]) -> [NotificationRoute] {
        var out: [NotificationRoute] = []
        for route in self.routes where route.matches(labels) {
            out.append(route)
            if !route.continue { break }
        }
        return out
    }
}
