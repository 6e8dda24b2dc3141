import VigilProtocol
import VigilStore

/// Decides who a registering client is. The key decides the host identity; without a key, only
/// open enrollment admits a client, and never under a name that a key protects.
public struct AgentAuthenticator: Sendable {
    let store: any VigilStore
    let openEnrollment: Bool

    public init(store: any VigilStore, openEnrollment: Bool) {
        self.store = store
        self.openEnrollment = openEnrollment
    }

    /// - Returns: The host identity.
    /// - Throws: ``ProtocolViolation`` with the refusal's code and reason. The reason never repeats
    ///   the secret part of a presented key.
    public func authenticate(_ register: RegisterPayload) async throws -> String {
        if let key = register.key {
            switch try await self.store.verifyKey(key) {
            case .valid(let agentKey):
                return agentKey.hostname
            case .revoked(let agentKey):
                throw ProtocolViolation(.revokedKey, "key \(agentKey.id) (host \(agentKey.hostname)) has been revoked")
            case .unknown:
                let id = AgentKeyToken(key)?.id ?? "?"
                throw ProtocolViolation(.invalidKey, "key \(id) is not known to this server (wrong key or wrong server)")
            case .malformed:
                throw ProtocolViolation(.invalidKey, "key is malformed: expected vk_<12 lowercase letters or digits>_<43 base64url characters>")
            }
        }
        guard self.openEnrollment else {
            throw ProtocolViolation(.keyRequired, "this server requires an agent key; create one with `vigil keys create --host NAME`")
        }
        guard Self.isValidHostname(register.hostname) else {
            throw ProtocolViolation(.invalidHostname, "hostname must be 1-253 characters of letters, digits, '.', '-' and '_'")
        }
        if try await self.store.hasActiveKey(hostname: register.hostname) {
            throw ProtocolViolation(.hostnameBoundToKey, "host \(register.hostname) is bound to an agent key; present it")
        }
        return register.hostname
    }

    /// Host names as DNS allows them, plus `_` (seen in the wild on internal names).
    public static func isValidHostname(_ name: String) -> Bool {
        (1...253).contains(name.utf8.count)
            && name.utf8.allSatisfy { byte in
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                    || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
            }
    }
}
