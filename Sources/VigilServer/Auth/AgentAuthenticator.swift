import VigilProtocol
import VigilStore

/// Decides who a registering client is. The key decides the host identity; without a key, only
/// open enrollment (or, for a version-0 register, `agents.legacy_clients`) admits a client, and
/// never under a name that a key protects. Every identity passes ``ClientName``'s rules.
public struct AgentAuthenticator: Sendable {
    let store: any VigilStore
    let openEnrollment: Bool
    /// Names admitted without a key as protocol version 0 although open enrollment is off.
    let legacyClients: Set<String>

    public init(store: any VigilStore, openEnrollment: Bool, legacyClients: Set<String> = []) {
        self.store = store
        self.openEnrollment = openEnrollment
        self.legacyClients = legacyClients
    }

    /// - Returns: The client's identity, with the id of the key it presented (the session keeps it,
    ///   so revoking the key can end the session).
    /// - Throws: ``ProtocolViolation`` with the refusal's code and reason. The reason never repeats
    ///   the secret part of a presented key.
    public func authenticate(_ register: RegisterPayload) async throws -> AuthenticatedClient {
        if let key = register.key {
            switch try await self.store.verifyKey(key) {
            case .valid(let agentKey):
                // A key made for such a name before the rules existed must not bring the name in.
                guard ClientName.isValid(agentKey.hostname) else {
                    throw ProtocolViolation(.invalidField, "key \(agentKey.id) is bound to host \(agentKey.hostname.logEscaped), which cannot be a client id (\(ClientName.rule)); revoke it and create a key for another name")
                }
                return AuthenticatedClient(hostname: agentKey.hostname, keyID: agentKey.id)
            case .revoked(let agentKey):
                throw ProtocolViolation(.revokedKey, "key \(agentKey.id) (host \(agentKey.hostname)) has been revoked")
            case .unknown:
                let id = AgentKeyToken(key)?.id ?? "?"
                throw ProtocolViolation(.invalidKey, "key \(id) is not known to this server (wrong key or wrong server)")
            case .malformed:
                throw ProtocolViolation(.invalidKey, "key is malformed: expected vk_<12 lowercase letters or digits>_<43 base64url characters>")
            }
        }
        let legacy = register.protocolVersion == ProtocolVersion.legacy
        guard self.openEnrollment || (legacy && self.legacyClients.contains(register.hostname)) else {
            if legacy {
                // What this server answered before version 0 existed, and still does where it is not allowed.
                throw ProtocolViolation(.missingField, "payload.protocol_version: required field is missing")
            }
            throw ProtocolViolation(.keyRequired, "this server requires an agent key; create one with `vigil keys create --host NAME`")
        }
        if let violation = ClientName.violation(register.hostname, field: legacy ? "sender_id" : "payload.hostname") {
            throw violation
        }
        if try await self.store.hasActiveKey(hostname: register.hostname) {
            throw ProtocolViolation(.hostnameBoundToKey, "host \(register.hostname) is bound to an agent key; present it")
        }
        return AuthenticatedClient(hostname: register.hostname)
    }

    /// Whether a key may be made for `name`: the rules of every client id (``ClientName``).
    public static func isValidHostname(_ name: String) -> Bool {
        ClientName.isValid(name)
    }
}
