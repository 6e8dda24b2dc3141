import Foundation

/// What one reload did: the record kept for `GET /api/admin/reloads`, the answer of
/// `POST /api/admin/reload`, and the status file `vigil reload` waits for.
public struct ReloadOutcome: Sendable, Codable, Equatable {
    /// Counts reloads since the server started, from 1.
    public var generation: Int
    public var at: Date
    /// `sighup`, `api` or `direct`.
    public var trigger: String
    /// The user who asked through the API.
    public var user: String?
    public var success: Bool
    /// Hot keys whose value changed and that are in force now.
    public var changed: [String]
    /// Restart-only keys whose new value differs from the running one: ignored until a restart.
    public var restartRequired: [String]
    /// Why nothing changed, when `success` is false.
    public var error: String?

    public init(generation: Int, at: Date, trigger: ReloadTrigger, success: Bool, changed: [String] = [], restartRequired: [String] = [], error: String? = nil) {
        self.generation = generation
        self.at = at
        self.trigger = trigger.name
        self.user = trigger.user
        self.success = success
        self.changed = changed
        self.restartRequired = restartRequired
        self.error = error
    }

    enum CodingKeys: String, CodingKey {
        case generation, at, trigger, user, success, changed, error
        case restartRequired = "restart_required"
    }

    /// One line for people: what changed, what waits for a restart, or the error.
    public var summary: String {
        guard self.success else { return "configuration not reloaded: \(self.error ?? "unknown error"); the server keeps its previous configuration" }
        var parts = ["configuration reloaded"]
        parts.append(self.changed.isEmpty ? "no hot key changed" : "changed: \(self.changed.joined(separator: ", "))")
        if !self.restartRequired.isEmpty {
            parts.append("\(self.restartRequired.joined(separator: ", ")) \(self.restartRequired.count == 1 ? "changes" : "change") at the next restart")
        }
        return parts.joined(separator: "; ")
    }
}
