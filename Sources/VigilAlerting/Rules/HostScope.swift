/// Which hosts a rule watches: all of them by default; else those whose name matches one of
/// ``hosts`` (names or globs) and whose labels carry every pair of ``labels``.
public struct HostScope: Sendable, Equatable, Codable {
    /// Names or patterns (`web-*`); empty means every host.
    public var hosts: [Glob]
    /// Label pairs a host must carry (`env: prod`); empty means no condition.
    public var labels: [String: String]

    public init(hosts: [Glob] = [], labels: [String: String] = [:]) {
        self.hosts = hosts
        self.labels = labels
    }

    public static let everyHost = HostScope()

    /// Whether the scope takes `hostname`, whose labels are `hostLabels`.
    public func contains(_ hostname: String, labels hostLabels: [String: String] = [:]) -> Bool {
        if !self.hosts.isEmpty, !self.hosts.contains(where: { $0.matches(hostname) }) { return false }
        for (key, value) in self.labels where hostLabels[key] != value { return false }
        return true
    }
}
