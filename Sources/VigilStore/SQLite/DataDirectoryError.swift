/// Why the data directory cannot be used: its message says what to do (the `chmod` to run, the
/// process holding it).
public struct DataDirectoryError: Error, CustomStringConvertible, Sendable {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}
