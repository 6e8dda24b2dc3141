/// TLS could not be set up: a certificate or key that does not parse or belong together, a file
/// that cannot be read or written. Fatal at start; on SIGHUP the old certificates stay in use.
public struct TLSSetupError: Error, CustomStringConvertible, Sendable {
    public var description: String
    init(_ description: String) { self.description = description }
}
