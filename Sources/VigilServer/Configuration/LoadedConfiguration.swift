/// Settings as loaded, with what a reload compares: each key's configured value and the sources.
public struct LoadedConfiguration: Sendable {
    public var settings: ServerSettings
    /// Each key set anywhere (flags, environment, file), by key, as configured (lists joined with
    /// commas). A key absent here has its default.
    public var values: [String: String]
    /// Every key there is, in the order docs/OPERATIONS.md lists them.
    public var keys: [String]
    /// Where the settings came from, to read them again the same way.
    public var source: ConfigurationSource

    public init(settings: ServerSettings, values: [String: String], keys: [String], source: ConfigurationSource) {
        self.settings = settings
        self.values = values
        self.keys = keys
        self.source = source
    }

    /// The keys whose configured value differs between `self` and `other`.
    public func keysDiffering(from other: LoadedConfiguration) -> [String] {
        self.keys.filter { self.values[$0] != other.values[$0] }
    }
}
