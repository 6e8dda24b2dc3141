import VigilProtocol

/// A registration the key check has admitted: what the session handler needs to set the
/// registered connection up and answer its `CLIENT_REGISTER`.
struct SessionRegistration: Equatable, Sendable {
    var client: RegisteredClient
    var register: RegisterPayload
    /// The `CLIENT_REGISTER`'s usable `message_id`, quoted by the reply.
    var inReplyTo: String?

    /// Whether files for this client may be passed on over this connection: not to a version-0
    /// client (it does not know `FILE_OFFER`), nor to a send-only one (`vigil send-file` must not
    /// take the client's files).
    var takesPushes: Bool {
        !self.client.isLegacy && !self.register.capabilities.contains(RegisterPayload.sendOnlyCapability)
    }
}
