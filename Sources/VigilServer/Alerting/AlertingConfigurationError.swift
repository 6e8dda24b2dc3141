/// The alerting file or a rule, channel or route in it cannot be used; says where and why.
public struct AlertingConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
