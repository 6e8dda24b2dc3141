/// Fixed bounds on free-text fields, so a peer cannot make the server store megabytes per
/// registration. They are part of the protocol (docs/PROTOCOL.md), not configuration.
public enum ProtocolLimits {
    /// `CLIENT_REGISTER.payload.hostname`, in UTF-8 bytes (DNS's limit).
    public static let maxHostnameBytes = 253
    /// `CLIENT_REGISTER.payload.agent_version`, in UTF-8 bytes.
    public static let maxAgentVersionBytes = 128
    /// Entries in `CLIENT_REGISTER.payload.capabilities`.
    public static let maxCapabilities = 32
    /// Each capability, in UTF-8 bytes.
    public static let maxCapabilityBytes = 64
    /// `CLIENT_UNREGISTER.payload.reason`, in UTF-8 bytes; longer reasons are cut, not refused.
    public static let maxReasonBytes = 256
    /// A `message_id` longer than this is not quoted back as `in_reply_to`.
    public static let maxMessageIDBytes = 128
    /// An unknown `type` is quoted in the error up to this many characters.
    public static let maxQuotedTypeCharacters = 64
}

extension RegisterPayload {
    /// The first field that breaks ``ProtocolLimits``, as a violation.
    public var limitViolation: ProtocolViolation? {
        if self.hostname.utf8.count > ProtocolLimits.maxHostnameBytes {
            return ProtocolViolation(.invalidField, "payload.hostname: longer than \(ProtocolLimits.maxHostnameBytes) bytes")
        }
        if let version = self.agentVersion, version.utf8.count > ProtocolLimits.maxAgentVersionBytes {
            return ProtocolViolation(.invalidField, "payload.agent_version: longer than \(ProtocolLimits.maxAgentVersionBytes) bytes")
        }
        if self.capabilities.count > ProtocolLimits.maxCapabilities {
            return ProtocolViolation(.invalidField, "payload.capabilities: more than \(ProtocolLimits.maxCapabilities) entries")
        }
        if let long = self.capabilities.firstIndex(where: { $0.utf8.count > ProtocolLimits.maxCapabilityBytes }) {
            return ProtocolViolation(.invalidField, "payload.capabilities[\(long)]: longer than \(ProtocolLimits.maxCapabilityBytes) bytes")
        }
        return nil
    }
}
