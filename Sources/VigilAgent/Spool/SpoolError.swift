/// Why the spool could not be opened or written.
public struct SpoolError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// Another agent holds the directory's lock.
        case locked
        /// A file operation failed (the detail says which and why).
        case io
    }

    public var kind: Kind
    public var description: String

    init(_ kind: Kind, _ description: String) {
        self.kind = kind
        self.description = description
    }
}
