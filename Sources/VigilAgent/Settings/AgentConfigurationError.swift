/// A configuration `vigil-agent` cannot run with: a malformed flag, variable or file. `vigil-agent`
/// prints the description and exits 64.
public struct AgentConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
