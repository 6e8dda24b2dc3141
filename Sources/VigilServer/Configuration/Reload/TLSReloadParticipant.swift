/// Re-reads the TLS certificates on every reload (after `vigil tls rotate`, or when the operator
/// replaced the files): checked (read and made into contexts) in phase 1, installed in phase 2, so
/// an unreadable certificate fails the whole reload and the old one stays in use. New connections
/// get the new certificate; open ones keep theirs.
struct TLSReloadParticipant: ReloadParticipant {
    let contexts: TLSContexts
    var name: String { "tls" }

    func check(_ new: ServerSettings) async throws {
        try self.contexts.prepareReload()
    }

    func apply(_ new: ServerSettings) async {
        self.contexts.installPrepared()
    }
}
