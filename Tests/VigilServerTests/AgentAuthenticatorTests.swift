import Testing
import VigilProtocol
import VigilStore
@testable import VigilServer

/// What the key check hands the session: the identity and, with a key, the key's id (which the
/// registered session keeps, so revoking the key can end it).
@Suite("Agent authenticator")
struct AgentAuthenticatorTests {
    @Test("a valid key yields the key's host and id; open enrollment without a key yields the name and no key id")
    func keyIDCarried() async throws {
        let store = try SQLiteStore(inMemory: ())
        let issued = try await store.createKey(hostname: "web1")
        let authenticator = AgentAuthenticator(store: store, openEnrollment: true)
        let keyed = try await authenticator.authenticate(RegisterPayload(key: issued.token, hostname: "whatever"))
        #expect(keyed == AuthenticatedClient(hostname: "web1", keyID: issued.key.id))
        let open = try await authenticator.authenticate(RegisterPayload(key: nil, hostname: "db2"))
        #expect(open == AuthenticatedClient(hostname: "db2", keyID: nil))
    }
}
