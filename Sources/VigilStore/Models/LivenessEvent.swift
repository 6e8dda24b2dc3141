#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One state transition of one host. Every transition is stored as one event.
public struct LivenessEvent: Sendable, Equatable, Codable {
    /// Assigned by the store; increases with time.
    public var id: Int64?
    public var hostname: String
    /// `nil` for the first event of a host never seen before.
    public var from: LivenessState?
    public var to: LivenessState
    /// Why, for people: e.g. `no heartbeat for 2.4 s (phi 9.1)`.
    public var reason: String
    public var at: Date

    public init(id: Int64? = nil, hostname: String, from: LivenessState?, to: LivenessState, reason: String, at: Date) {
        self.id = id
        self.hostname = hostname
        self.from = from
        self.to = to
        self.reason = reason
        self.at = at
    }
}
