extension SMTPClientConfiguration: CustomStringConvertible, CustomDebugStringConvertible {
    /// Without the password.
    public var description: String {
        "SMTPClientConfiguration(\(self.host):\(self.port), tls: \(self.tls.rawValue), username: \(self.username ?? "-"), password: \(self.password == nil ? "-" : "<redacted>"))"
    }

    public var debugDescription: String { self.description }
}
