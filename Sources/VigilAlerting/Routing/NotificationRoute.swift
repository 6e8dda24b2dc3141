/// Which channels get which alerts, and how often:
///
/// ```yaml
/// routes:
///   - match: ["severity=critical"]
///     channels: [pager, team-mail]
///     group_wait: 1s
///     repeat_interval: 1h
///     continue: true       # also try the next routes
///   - channels: [team-chat]  # no matchers: everything that got here
/// ```
///
/// Routes are tried in order; an alert goes to the first route whose matchers all hold (and on to
/// later ones while a matched route says `continue`). With no routes at all, every channel gets
/// every alert.
public struct NotificationRoute: Sendable, Equatable, Codable {
    public var matchers: [LabelMatcher]
    public var channels: [String]
    /// How long the first alert of a group waits for others of the same host before the
    /// notification goes out.
    public var groupWait: AlertDuration
    /// How often a firing, unacknowledged, unsilenced alert is notified again.
    public var repeatInterval: AlertDuration
    public var `continue`: Bool
    /// Whether resolved alerts are notified too.
    public var sendResolved: Bool

    public static let defaultGroupWait = AlertDuration(milliseconds: 500)
    public static let defaultRepeatInterval = AlertDuration.minutes(240)
    /// The shortest repeat (faster would be a notification storm).
    public static let minimumRepeatInterval = AlertDuration.seconds(1)

    public init(matchers: [LabelMatcher] = [], channels: [String], groupWait: AlertDuration = Self.defaultGroupWait,
                repeatInterval: AlertDuration = Self.defaultRepeatInterval, continue: Bool = false, sendResolved: Bool = true) {
        self.matchers = matchers
        self.channels = channels
        self.groupWait = groupWait
        self.repeatInterval = repeatInterval
        self.continue = `continue`
        self.sendResolved = sendResolved
    }

    enum CodingKeys: String, CodingKey {
        case matchers = "match"
        case channels
        case groupWait = "group_wait"
        case repeatInterval = "repeat_interval"
        case `continue`
        case sendResolved = "send_resolved"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.matchers = try c.decodeIfPresent([LabelMatcher].self, forKey: .matchers) ?? []
        self.channels = try c.decode([String].self, forKey: .channels)
        self.groupWait = try c.decodeIfPresent(AlertDuration.self, forKey: .groupWait) ?? Self.defaultGroupWait
        self.repeatInterval = try c.decodeIfPresent(AlertDuration.self, forKey: .repeatInterval) ?? Self.defaultRepeatInterval
        self.continue = try c.decodeIfPresent(Bool.self, forKey: .continue) ?? false
        self.sendResolved = try c.decodeIfPresent(Bool.self, forKey: .sendResolved) ?? true
    }

    public func matches(_ labels: [String: String]) -> Bool { self.matchers.allSatisfy { $0.matches(labels) } }
}
